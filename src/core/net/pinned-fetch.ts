import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * One HTTP request, as `fetch` would send it, but connected to addresses decided BEFORE the call: the
 * egress guard resolves a name, checks every address, and this transport connects only to those (its
 * `lookup` answers with them and nothing else). `fetch` would resolve the name a second time, and a DNS
 * server that answers differently the second time (DNS rebinding) would choose where the request goes.
 * The name is kept for everything else: the Host header, TLS SNI and certificate verification.
 *
 * The answer is a standard `Response` (streamed body). Like fetch: `redirect` is the caller's business
 * (guardedFetch sends `manual` and checks each hop), an abort rejects with the signal's reason, a network
 * failure rejects with `TypeError('fetch failed', { cause })`, gzip/deflate/br bodies are decoded.
 */
export async function pinnedFetch(url: URL, init: RequestInit, pinned: readonly string[] | undefined): Promise<Response> {
  // Request normalizes the method, the headers and any body type exactly as fetch does (and rejects what fetch rejects).
  const request = new Request(url, { method: init.method, headers: init.headers, body: init.body, signal: init.signal ?? undefined, ...(init.body ? { duplex: 'half' } : {}) } as RequestInit);
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (body) headers['content-length'] = String(body.length);
  headers['accept-encoding'] ??= 'gzip, deflate, br';
  const https = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;

  return new Promise<Response>((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)({
      protocol: url.protocol,
      host,
      port: url.port || (https ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: request.method,
      headers,
      agent: https ? httpsAgent : httpAgent,
      ...(pinned && pinned.length > 0 && !isIP(host) ? { lookup: pinnedLookup(pinned) } : {}),
      ...(https && !isIP(host) ? { servername: host } : {}),
    });
    let settled = false;
    const onAbort = (): void => {
      const reason = signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
      req.destroy(reason instanceof Error ? reason : undefined);
      if (!settled) {
        settled = true;
        reject(reason);
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) return;
      settled = true;
      reject(new TypeError('fetch failed', { cause: err }));
    });
    req.on('response', (res) => {
      settled = true;
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      res.once('end', done);
      res.once('close', done);
      try {
        resolve(toResponse(res, request.method));
      } catch (err) {
        res.destroy();
        reject(err);
      }
    });
    req.end(body);
  });
}

/** A lookup that answers with the checked addresses only (never asks DNS). */
export function pinnedLookup(addresses: readonly string[]): LookupFunction {
  return ((hostname: string, options: { family?: number | string; all?: boolean }, callback: (...args: unknown[]) => void) => {
    const family = options?.family === 'IPv4' ? 4 : options?.family === 'IPv6' ? 6 : Number(options?.family ?? 0);
    const list = addresses.map((address) => ({ address, family: isIP(address) })).filter((a) => a.family && (!family || a.family === family));
    if (list.length === 0) {
      const err = Object.assign(new Error(`${hostname}: no checked address of the requested family`), { code: 'ENOTFOUND', hostname });
      return process.nextTick(() => callback(err));
    }
    process.nextTick(() => (options?.all ? callback(null, list) : callback(null, list[0].address, list[0].family)));
  }) as unknown as LookupFunction;
}

// Keep-alive pools (idle sockets are unref'd by node, so they never keep a process alive). A pooled socket
// was connected to an address checked when it was opened.
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function toResponse(res: IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
  const status = res.statusCode ?? 502;
  if (NULL_BODY.has(status) || method === 'HEAD') {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage, headers });
  }
  const encoding = (res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
  let stream: Readable = res;
  if (decoder) {
    res.on('error', (err) => decoder.destroy(err));
    stream = res.pipe(decoder);
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  return new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, { status, statusText: res.statusMessage, headers });
}
