import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';

describe('sovereign fit (the CLI)', function () {
  this.timeout(30000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-cli-fit-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('reports the memory needed and the largest context as JSON, exit 0 when it fits', async () => {
    const info = await writeTinyLlama(join(dir, 'tiny.gguf'));
    const r = await runCli(['fit', info.path, '--context', '512', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { context: number; fits: { ram: boolean }; maxContext: { ram: number }; memory: { kvCacheBytes: number } };
    assert.equal(report.context, 512);
    assert.equal(report.fits.ram, true);
    assert.equal(report.maxContext.ram, 2048);
    assert.ok(report.memory.kvCacheBytes > 0);
  });
});
