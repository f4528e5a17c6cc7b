import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Readable } from 'node:stream';
import { assertEndpointAllowed, type CheckOptions, type EndpointCheck } from '../net/egress';
import { isLoopbackAddress, type EndpointRule } from '../net/endpoints';
import { pinnedLookup } from '../net/pinned-fetch';

export interface TransportOptions {
  /** PEM certificate(s) of the CA that signed the registry's certificate (in addition to the system's). */
  ca?: string | Buffer;
  /** The workspace policy's `endpoints.allowed` (default: loopback and private networks). */
  allowed?: readonly EndpointRule[];
  /** The governed workspace whose audit log records every origin contacted. */
  audit?: { root: string };
  lookup?: CheckOptions['lookup'];
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  url: URL;
  /** The streamed body (already drained for HEAD). */
  body: IncomingMessage;
}

/** The connection failed (refused, reset, cut mid-transfer): the request may be retried or resumed. */
export class ConnectionError extends Error {
  constructor(
    readonly url: URL,
    override readonly cause: unknown,
  ) {
    super(`${url.origin}: ${(cause as Error)?.message ?? String(cause)}${(cause as NodeJS.ErrnoException)?.code ? ` (${(cause as NodeJS.ErrnoException).code})` : ''}`);
  }

  get code(): string | undefined {
    return (this.cause as NodeJS.ErrnoException)?.code;
  }
}

/** TLS failures that mean "this is not a TLS server" (plain HTTP answered the handshake). */
export function isPlainHttpAnswer(err: unknown): boolean {
  const c = err instanceof ConnectionError ? err.cause : err;
  const code = (c as NodeJS.ErrnoException)?.code;
  return code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test((c as Error)?.message ?? '');
}

/** TLS failures of certificate verification. */
export function isCertificateError(err: unknown): boolean {
  const c = err instanceof ConnectionError ? err.cause : err;
  const code = (c as NodeJS.ErrnoException)?.code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/.test(code);
}

/**
 * HTTP for the OCI client: every request's URL is checked by the egress guard (the policy's allowed endpoints,
 * recorded in the ledger and the workspace audit log) and the socket connects only to the addresses that
 * were checked (pinned lookup, as guardedFetch does). Unlike fetch, bodies stream both ways (a multi-GB
 * blob never sits in memory) and the TLS trust can include a private CA.
 */
export class OciTransport {
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  private readonly httpsAgent: HttpsAgent;
  private readonly checks = new Map<string, EndpointCheck>();

  constructor(private readonly options: TransportOptions = {}) {
    this.httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 8, ...(options.ca ? { ca: options.ca } : {}) });
  }

  /** Checks (once per origin) that the egress policy allows the URL; refusals throw RefusedError. */
  async check(url: URL): Promise<EndpointCheck> {
    const known = this.checks.get(url.origin);
    if (known) return known;
    const check = await assertEndpointAllowed(url, this.options.allowed, { audit: this.options.audit, via: 'oci', lookup: this.options.lookup });
    this.checks.set(url.origin, check);
    return check;
  }

  /** Whether every address the host resolves to is loopback (plain HTTP is allowed there). */
  async isLoopback(url: URL): Promise<boolean> {
    const check = await this.check(url);
    return check.addresses.length > 0 && check.addresses.every((a) => isLoopbackAddress(a));
  }

  async send(url: URL, method: string, headers: Record<string, string>, body?: Buffer | Readable, signal?: AbortSignal): Promise<Reply> {
    signal?.throwIfAborted();
    const check = await this.check(url);
    const https = url.protocol === 'https:';
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const hdrs: Record<string, string> = { 'user-agent': 'sovereign-oci', ...headers };
    if (Buffer.isBuffer(body)) hdrs['content-length'] = String(body.length);
    else if (!body && method !== 'GET' && method !== 'HEAD') hdrs['content-length'] ??= '0';
    return new Promise<Reply>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)({
        protocol: url.protocol,
        host,
        port: url.port || (https ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method,
        headers: hdrs,
        agent: https ? this.httpsAgent : this.httpAgent,
        ...(check.addresses.length > 0 && !isIP(host) ? { lookup: pinnedLookup(check.addresses) } : {}),
        ...(https && !isIP(host) ? { servername: host } : {}),
      });
      let settled = false;
      const fail = (err: unknown): void => {
        if (body && !Buffer.isBuffer(body)) body.destroy(); // the file stays open otherwise
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(signal?.aborted ? signal.reason : err instanceof ConnectionError ? err : new ConnectionError(url, err));
      };
      const onAbort = (): void => {
        req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
        fail(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', fail);
      req.on('response', (res) => {
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        const done = (): void => signal?.removeEventListener('abort', onAbort);
        res.once('end', done);
        res.once('close', done);
        if (method === 'HEAD') res.resume();
        resolve({ status: res.statusCode ?? 502, headers: res.headers, url, body: res });
      });
      if (body && !Buffer.isBuffer(body)) {
        body.on('error', (err) => {
          req.destroy(err);
          fail(err);
        });
        body.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Reads a body up to `limit` bytes (manifests, errors, tokens: never blobs). */
export async function readLimited(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new Error(`${what} is over ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Discards a body we do not need (keeps the keep-alive socket usable). */
export function drain(res: IncomingMessage): void {
  res.resume();
}
