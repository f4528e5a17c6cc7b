/**
 * HTTP to a native llama-server over its unix socket (llama-server-process.ts): keep-alive connections, JSON
 * requests, and server-sent events for streamed generations. A socket path, never a TCP address: the
 * process-wide egress guard has nothing to check, and only this user can open the socket's folder.
 */
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';

export interface HttpReply {
  status: number;
  body: unknown;
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

export class LlamaServerConnection {
  private readonly agent: Agent;

  constructor(readonly socketPath: string, parallel: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets: parallel + 4 });
  }

  /** A JSON request; the reply's body parsed as JSON (or the text when it is not JSON). */
  call(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      this.open(method, path, body, signal, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')) }));
      }, reject);
    });
  }

  /**
   * A streamed request (server-sent events): `onEvent` gets each `data:` payload parsed; resolves once the
   * stream ends. A non-200 reply resolves with its parsed body and no events.
   */
  stream(path: string, body: unknown, onEvent: (event: Record<string, unknown>) => void, signal?: AbortSignal): Promise<HttpReply> {
    return new Promise((resolve, reject) => {
      this.open('POST', path, body, signal, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: parseBody(Buffer.concat(chunks).toString('utf8')) }));
          return;
        }
        res.setEncoding('utf8');
        let pending = '';
        res.on('data', (chunk: string) => {
          pending += chunk;
          for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
            const block = pending.slice(0, end);
            pending = pending.slice(end + 2);
            for (const line of block.split('\n')) {
              if (!line.startsWith('data: ')) continue;
              const data = line.slice(6);
              if (data === '[DONE]') continue;
              try {
                onEvent(JSON.parse(data) as Record<string, unknown>);
              } catch (err) {
                res.destroy(err as Error);
                return;
              }
            }
          }
        });
        res.on('error', reject);
        res.on('end', () => resolve({ status: 200, body: undefined }));
      }, reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private open(method: string, path: string, body: unknown, signal: AbortSignal | undefined, onResponse: (res: IncomingMessage) => void, onError: (err: Error) => void, retried = false): void {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    let answered = false;
    const req = httpRequest(
      {
        socketPath: this.socketPath,
        agent: this.agent,
        method,
        path,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        answered = true;
        onResponse(res);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive connection that llama-server closed while it was idle: the request never reached it (the
      // race Node documents for `reusedSocket`). Sent again, once, on a new connection.
      if (!answered && !retried && req.reusedSocket && err.code === 'ECONNRESET' && !signal?.aborted) {
        this.open(method, path, body, signal, onResponse, onError, true);
        return;
      }
      onError(err);
    });
    if (signal) {
      // Closing the connection stops llama-server's generation for this request.
      const abort = (): void => void req.destroy(signal.reason instanceof Error ? signal.reason : new Error('cancelled'));
      if (signal.aborted) abort();
      else {
        signal.addEventListener('abort', abort, { once: true });
        req.on('close', () => signal.removeEventListener('abort', abort));
      }
    }
    req.end(payload);
  }
}
