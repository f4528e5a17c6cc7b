import { guardedFetch, type GuardedFetchOptions } from '../net/egress';

/** How completion backends reach a server: injected, so the egress guard (policy endpoints, audit) wraps every call. */
export interface HttpTransport {
  post(url: string, body: unknown, options: { signal: AbortSignal; headers?: Record<string, string> }): Promise<HttpReply>;
}

export interface HttpReply {
  status: number;
  /** Parsed JSON when the reply was JSON, else the text. */
  body: unknown;
}

/** An HTTP error from a backend, with the server's own message when it sent one. */
export class BackendHttpError extends Error {
  constructor(readonly url: string, readonly status: number, detail: string) {
    super(`${url} answered HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'BackendHttpError';
  }
}

/** Posts JSON and returns the parsed reply; non-2xx replies become BackendHttpError. */
export async function postJson(transport: HttpTransport, url: string, body: unknown, signal: AbortSignal, headers?: Record<string, string>): Promise<unknown> {
  const reply = await transport.post(url, body, { signal, headers });
  if (reply.status < 200 || reply.status >= 300) throw new BackendHttpError(url, reply.status, errorDetail(reply.body));
  return reply.body;
}

function errorDetail(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 300);
  if (body && typeof body === 'object') {
    const err = (body as { error?: unknown }).error;
    if (typeof err === 'string') return err;
    if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  }
  return '';
}

/**
 * The transport every completion request uses: fetch behind the egress guard, so a backend URL outside
 * the policy's allowed endpoints is refused before any connection opens, and every endpoint contacted is
 * recorded (ledger, and the audit log when a workspace root is given).
 */
export function guardedTransport(options: GuardedFetchOptions = {}): HttpTransport {
  return {
    async post(url, body, { signal, headers }) {
      const res = await guardedFetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal }, options);
      const text = await res.text();
      let parsed: unknown = text;
      if ((res.headers.get('content-type') ?? '').includes('json')) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      return { status: res.status, body: parsed };
    },
  };
}
