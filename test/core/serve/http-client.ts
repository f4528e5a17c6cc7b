import { request as httpRequest, type IncomingHttpHeaders, type ClientRequest } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request without keep-alive (agent: false), so no socket outlives a test. */
export function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = httpRequest(new URL(path, url), { method, agent: false, headers: { ...(payload ? { 'Content-Type': 'application/json' } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Starts a streaming request and hands each SSE `data:` payload to onEvent; returns the request to destroy it. */
export function stream(url: string, path: string, body: unknown, headers: Record<string, string>, onEvent: (data: string, req: ClientRequest) => void): { req: ClientRequest; done: Promise<number> } {
  let req!: ClientRequest;
  const done = new Promise<number>((resolve, reject) => {
    req = httpRequest(new URL(path, url), { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          if (block.startsWith('data: ')) onEvent(block.slice(6), req);
        }
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('close', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || req.destroyed ? resolve(0) : reject(err)));
    req.end(JSON.stringify(body));
  });
  return { req, done };
}
