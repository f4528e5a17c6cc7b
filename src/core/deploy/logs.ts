import type { Docker } from './engine';

/**
 * Container output. Without a TTY the engine multiplexes stdout and stderr in frames:
 * [stream(1) 0 0 0 size(4, big-endian)] payload.
 */
export function demuxLogs(buf: Buffer): string {
  let out = '';
  let off = 0;
  while (off + 8 <= buf.length) {
    const size = buf.readUInt32BE(off + 4);
    out += buf.subarray(off + 8, off + 8 + size).toString('utf8');
    off += 8 + size;
  }
  // Not framed (a TTY container): the bytes are the text.
  return off === 0 && buf.length ? buf.toString('utf8') : out;
}

export async function lastLogLines(docker: Docker, container: string, lines = 20): Promise<string[]> {
  try {
    const buf = (await docker.getContainer(container).logs({ stdout: true, stderr: true, tail: lines, follow: false })) as unknown as Buffer;
    return demuxLogs(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf))).split('\n').filter((l) => l.trim());
  } catch {
    return [];
  }
}

/** Streams a container's output (stdout and stderr separated) until it stops or `signal` aborts. */
export async function streamLogs(
  docker: Docker,
  container: string,
  options: { follow: boolean; tail?: number; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; signal?: AbortSignal },
): Promise<void> {
  const c = docker.getContainer(container);
  if (!options.follow) {
    const buf = (await c.logs({ stdout: true, stderr: true, tail: options.tail ?? 200, follow: false })) as unknown as Buffer;
    options.stdout.write(demuxLogs(buf));
    return;
  }
  const stream = (await c.logs({ stdout: true, stderr: true, tail: options.tail ?? 200, follow: true })) as NodeJS.ReadableStream & { destroy(): void };
  docker.modem.demuxStream(stream, options.stdout, options.stderr);
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
    options.signal?.addEventListener('abort', () => {
      stream.destroy();
      resolve();
    });
  });
}
