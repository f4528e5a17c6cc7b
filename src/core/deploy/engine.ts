import type Dockerode from 'dockerode';
import { SovereignError } from '../util/errors';

/**
 * The Docker engine connection. dockerode is loaded lazily: the same CLI bundle runs INSIDE the staging
 * container (`sovereign serve`), where dockerode is deliberately absent from the image.
 */
export type Docker = Dockerode;

/** Where the engine is expected, for messages: DOCKER_HOST or the default socket. */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

let cached: Promise<Docker> | undefined;

/** Connects to the engine and checks that it answers; throws a SovereignError that says how to start one. */
export function connectDocker(): Promise<Docker> {
  cached ??= (async () => {
    const { default: DockerCtor } = await import('dockerode');
    const docker = new DockerCtor();
    try {
      await docker.ping();
    } catch (err) {
      cached = undefined;
      throw new SovereignError(
        `the Docker engine does not answer at ${engineAddress()} (${(err as Error).message})`,
        'start it (`source scripts/docker/start-dockerd.sh` on a machine without systemd) or set DOCKER_HOST',
      );
    }
    return docker;
  })();
  return cached;
}

/** Whether an engine answers, and if not why: for test suites and the extension's status. */
export async function dockerAvailability(): Promise<{ available: true; version: string } | { available: false; reason: string }> {
  try {
    const docker = await connectDocker();
    const v = (await docker.version()) as { Version?: string; ApiVersion?: string };
    return { available: true, version: `${v.Version ?? '?'} (API ${v.ApiVersion ?? '?'})` };
  } catch (err) {
    return { available: false, reason: err instanceof SovereignError ? err.message : String(err) };
  }
}

/** HTTP status of a dockerode error (404 = no such object), or undefined. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown })?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** Reads a whole dockerode progress stream (build, import); rejects on the first `error` message. */
export function followStream(docker: Docker, stream: NodeJS.ReadableStream, onLine?: (line: string) => void): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: Array<Record<string, unknown>>) => {
        if (err) return reject(err);
        const failed = output.find((o) => o.error || o.errorDetail);
        if (failed) return reject(new Error(String(failed.error ?? (failed.errorDetail as { message?: string })?.message)));
        resolve(output);
      },
      (event: Record<string, unknown>) => {
        const text = typeof event.stream === 'string' ? event.stream : typeof event.status === 'string' ? event.status : undefined;
        if (text && onLine) for (const line of text.split('\n')) if (line.trim()) onLine(line.trimEnd());
      },
    );
  });
}
