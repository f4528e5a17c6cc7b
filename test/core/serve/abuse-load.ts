/**
 * Good clients and hostile ones at once against a serving runtime: the load test of issue 13. The good
 * clients are the benchmark's load test (keep-alive, back to back); beside them, loops of slow and malformed
 * clients: slowloris headers, stalled bodies, garbage bytes, a wrong content type, an oversized
 * Content-Length and a foreign Host. Used by bench/serve-abuse-bench.ts and, shorter, by a test.
 */
import { randomBytes } from 'node:crypto';
import { runLoadTest, type LoadTestResult } from '../../../src/core/bench/load-test';
import { rawClient, statusOf } from './raw-client';

export const ABUSE_KINDS = ['slowlorisHeaders', 'stalledBody', 'garbageBytes', 'wrongContentType', 'oversizedContentLength', 'foreignHost'] as const;
export type AbuseKind = (typeof ABUSE_KINDS)[number];

export interface AbuserStats {
  /** Connections opened. */
  connections: number;
  /** Status of the server's answer per connection ("none" when it closed without one). */
  statuses: Record<string, number>;
  /** Connections the server closed. */
  closedByServer: number;
  /** Connections still open when the run ended (closed by the client then; not counted in `statuses`). */
  openAtEnd: number;
  /** Median time from connect to the server closing, ms. */
  closeP50Ms: number;
}

export interface AbuseLoadResult {
  good: LoadTestResult;
  abusers: Record<AbuseKind, AbuserStats>;
}

export interface AbuseLoadOptions {
  url: string;
  token?: string;
  goodClients: number;
  /** Concurrent loops per hostile kind. */
  perKind: number;
  durationMs: number;
  sampleMemory?: () => Promise<number | undefined>;
}

export async function runAbuseLoad(o: AbuseLoadOptions): Promise<AbuseLoadResult> {
  const { hostname, port: p } = new URL(o.url);
  const port = Number(p);
  const deadline = performance.now() + o.durationMs;
  const auth = o.token ? `Authorization: Bearer ${o.token}\r\n` : '';
  const host = `Host: ${hostname}:${port}\r\n`;
  const stats = Object.fromEntries(ABUSE_KINDS.map((k) => [k, { connections: 0, statuses: {}, closedByServer: 0, openAtEnd: 0, closeMs: [] as number[] }])) as Record<AbuseKind, AbuserStats & { closeMs: number[] }>;
  const open = new Set<{ socket: { destroy(): void } }>();

  /** One hostile connection: opens, behaves badly, waits for the server to close it (or the deadline). */
  async function once(kind: AbuseKind): Promise<void> {
    const s = stats[kind];
    let first: string | Buffer;
    let trickle: string | undefined;
    switch (kind) {
      case 'slowlorisHeaders':
        first = `POST /v1/completions HTTP/1.1\r\n${host}`;
        trickle = `X-Slow-${Math.random().toString(36).slice(2)}: ${'a'.repeat(64)}\r\n`.repeat(50);
        break;
      case 'stalledBody':
        first = `POST /v1/completions HTTP/1.1\r\n${host}${auth}Content-Type: application/json\r\nContent-Length: 65536\r\n\r\n{"prompt": "${'x'.repeat(30000)}`;
        break;
      case 'garbageBytes':
        first = randomBytes(2048);
        break;
      case 'wrongContentType':
        first = `POST /v1/completions HTTP/1.1\r\n${host}${auth}Content-Type: text/plain\r\nContent-Length: 33\r\n\r\n{"prompt":"Hello","max_tokens":4}`;
        break;
      case 'oversizedContentLength':
        first = `POST /v1/completions HTTP/1.1\r\n${host}${auth}Content-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n{"prompt":`;
        break;
      case 'foreignHost':
        first = `POST /v1/completions HTTP/1.1\r\nHost: attacker.example:${port}\r\n${auth}Content-Type: application/json\r\nContent-Length: 33\r\n\r\n{"prompt":"Hello","max_tokens":4}`;
        break;
    }
    let c;
    try {
      c = await rawClient(port, first, hostname);
    } catch {
      s.statuses.refused = (s.statuses.refused ?? 0) + 1;
      return;
    }
    s.connections++;
    open.add(c);
    let at = 0;
    const timer = trickle ? setInterval(() => c.send(trickle[at++ % trickle.length]), 200) : undefined;
    const left = deadline - performance.now();
    const closedIn = await Promise.race([c.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), Math.max(0, left)))]);
    if (timer) clearInterval(timer);
    open.delete(c);
    c.socket.destroy();
    if (closedIn === undefined) {
      s.openAtEnd++;
      return;
    }
    const status = String(statusOf(c.received()) || 'none');
    s.statuses[status] = (s.statuses[status] ?? 0) + 1;
    s.closedByServer++;
    s.closeMs.push(closedIn);
  }

  const hostile = ABUSE_KINDS.flatMap((kind) => Array.from({ length: o.perKind }, async () => {
    while (performance.now() < deadline) await once(kind);
  }));
  const good = runLoadTest({ url: o.url, token: o.token, clients: o.goodClients, durationMs: o.durationMs, sampleMemory: o.sampleMemory, body: (c) => ({ prompt: `Hello ${c}`, max_tokens: 16, temperature: 0 }) });
  const [goodResult] = await Promise.all([good, ...hostile]);
  for (const c of open) c.socket.destroy();
  const abusers = Object.fromEntries(ABUSE_KINDS.map((k) => {
    const { closeMs, ...rest } = stats[k];
    const sorted = closeMs.sort((a, b) => a - b);
    return [k, { ...rest, closeP50Ms: sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]) : 0 }];
  })) as Record<AbuseKind, AbuserStats>;
  return { good: goodResult, abusers };
}
