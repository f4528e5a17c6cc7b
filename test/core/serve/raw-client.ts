import { connect, type Socket } from 'node:net';

/** A raw TCP client: sends exactly the bytes given (a slow or hostile HTTP client), and records what comes back. */
export interface RawClient {
  socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves with the ms from connect to the socket closing (by either side). */
  closed: Promise<number>;
  /** Sends more bytes; ignored once the socket is gone. */
  send(data: string | Buffer): void;
}

export function rawClient(port: number, first?: string | Buffer, host = '127.0.0.1'): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ port, host });
    let data = '';
    socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
    socket.on('error', () => undefined);
    const closed = new Promise<number>((r) => socket.once('close', () => r(performance.now() - started)));
    const client: RawClient = {
      socket,
      received: () => data,
      closed,
      send: (d) => {
        if (!socket.destroyed && socket.writable) socket.write(d);
      },
    };
    socket.once('connect', () => {
      if (first !== undefined) socket.write(first);
      resolve(client);
    });
    socket.once('error', reject);
  });
}

/** Resolves true when `p` settles within `ms`, else false. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), t]);
  } finally {
    clearTimeout(timer);
  }
}

/** The status code of the first HTTP response in `text`, or 0. */
export function statusOf(text: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}
