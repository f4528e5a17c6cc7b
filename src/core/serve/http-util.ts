import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error with an HTTP status, answered in the OpenAI error shape. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * Refuses a request body before any byte of it is read: a Content-Type other than JSON (415), a declared
 * Content-Length above `limit` (413). A browser can send a cross-site `text/plain` POST without a CORS
 * preflight; requiring `application/json` takes that path away.
 */
export function checkJsonRequest(req: IncomingMessage, limit: number): void {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new HttpError(415, `send the body as JSON with "Content-Type: application/json" (got ${req.headers['content-type'] ? `"${req.headers['content-type'].slice(0, 80)}"` : 'none'})`);
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `the request body is ${declared} bytes; the limit is ${limit}`);
}

/** `application/json`, optionally with `charset=utf-8` (any case); anything else is not JSON to this server. */
export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const [type, ...params] = value.split(';').map((p) => p.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((p) => p === '' || p.replace(/\s+/g, '') === 'charset=utf-8' || p.replace(/\s+/g, '') === 'charset="utf-8"');
}

/**
 * Reads a JSON body of at most `limit` bytes (413 beyond it: checked on Content-Length and while reading).
 * A client that stops sending for `idleMs` gets 408 (the whole request is also bounded by the server's
 * request timeout).
 */
export async function readJsonBody(req: IncomingMessage, limit: number, idleMs = 0, onDropped?: (bytes: number) => void): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, `the request body is ${declared} bytes; the limit is ${limit}`);
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const done = (err: Error | undefined, value?: Buffer): void => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (err) {
        // Nothing more is read: the answer closes the connection.
        req.pause();
        chunks.length = 0;
        onDropped?.(size);
        reject(err);
      } else resolve(value!);
    };
    const arm = (): void => {
      if (!idleMs) return;
      clearTimeout(timer);
      timer = setTimeout(() => done(new HttpError(408, `the request body stopped arriving (nothing for ${idleMs / 1000} s)`)), idleMs);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) return done(new HttpError(413, `the request body passes the limit of ${limit} bytes`));
      chunks.push(chunk);
      arm();
    };
    const onEnd = (): void => done(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new Error('the client closed the connection while sending the body'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
    arm();
  });
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'the request body must be a JSON object');
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { message: err.message, type: err.type, code: err.status } }, err.headers);
}

/** Server-sent events: `data: JSON` blocks; `[DONE]` ends an OpenAI stream. */
export class SseStream {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.flushHeaders();
  }

  send(data: unknown): void {
    if (!this.res.writableEnded) this.res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (!this.res.writableEnded) this.res.end();
  }
}

// Field readers: a wrong type is a 400 that names the field.

export function optionalNumber(body: Record<string, unknown>, key: string, min = -Infinity, max = Infinity): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new HttpError(400, `"${key}" must be a number from ${min} to ${max}`);
  return v;
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `"${key}" must be a string`);
  return v;
}

export function optionalBoolean(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new HttpError(400, `"${key}" must be true or false`);
  return v;
}

export function stopList(body: Record<string, unknown>, key = 'stop'): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string') && v.length <= 16) return v as string[];
  throw new HttpError(400, `"${key}" must be a string or a list of at most 16 strings`);
}
