import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServeOptions } from '../../../src/core/serve/server';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { runAbuseLoad } from './abuse-load';

/** The short version of bench/serve-abuse-bench.ts: 32 good clients beside slow and malformed ones. */
describe('sovereign serve under load with slow and malformed clients mixed in (real engine on 127.0.0.1)', function () {
  this.timeout(90000);
  let dir: string;
  let server: RunningServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-serve-abuse-'));
    const info = await writeTinyLlama(join(dir, 'tiny.gguf'));
    const limits = { headersTimeoutMs: 1000, requestTimeoutMs: 2000, idleTimeoutMs: 700 } as Record<string, unknown>;
    server = await startServe({ model: info.path, port: 0, token: 'abuse-token-0123456789', parallel: 2, queue: 64, load: { threads: 1, contextSize: 256 }, ...(limits as ServeOptions) });
  });

  after(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('32 good clients see no error while slowloris, stalled bodies, garbage, wrong types, huge lengths and foreign hosts are turned away', async () => {
    const r = await runAbuseLoad({ url: server.url, token: 'abuse-token-0123456789', goodClients: 32, perKind: 2, durationMs: 4000 });
    process.stderr.write(`      good: ${r.good.requests} requests, ${r.good.errors} errors, p50 ${r.good.latencyMs.p50.toFixed(0)} ms; hostile: ${JSON.stringify(r.abusers)}\n`);
    assert.equal(r.good.errors, 0, JSON.stringify(r.good.statusCounts));
    assert.ok(r.good.requests >= 32, `${r.good.requests} good requests`);
    const only = (kind: keyof typeof r.abusers, status: string): void => {
      const s = r.abusers[kind];
      assert.ok(s.connections > 0, `${kind}: no connection`);
      assert.deepEqual(Object.keys(s.statuses), [status], `${kind}: ${JSON.stringify(s.statuses)}`);
      assert.equal(s.closedByServer + s.openAtEnd, s.connections, `${kind}: ${JSON.stringify(s)}`);
      assert.ok(s.openAtEnd <= 2, `${kind}: ${s.openAtEnd} connections were still open at the end`);
    };
    only('wrongContentType', '415');
    only('oversizedContentLength', '413');
    only('foreignHost', '403');
    only('garbageBytes', '400');
    // Slow clients are cut off by the timeouts (those still open when the run ends are closed by the client).
    for (const kind of ['slowlorisHeaders', 'stalledBody'] as const) {
      const s = r.abusers[kind];
      assert.ok(s.closedByServer >= 2, `${kind}: ${JSON.stringify(s)}`);
      for (const status of Object.keys(s.statuses)) assert.ok(['408', 'none'].includes(status), `${kind}: ${JSON.stringify(s.statuses)}`);
      assert.ok(s.closeP50Ms < 3000, `${kind}: closed after ${s.closeP50Ms} ms`);
    }
  });
});
