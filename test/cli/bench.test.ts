import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';

describe('sovereign bench (the CLI)', function () {
  this.timeout(60000);
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-cli-bench-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('writes the sovereign.bench/v1 report to stdout with --json', async () => {
    const info = await writeTinyLlama(join(dir, 'tiny.gguf'));
    const r = await runCli(['bench', info.path, '--repetitions', '2', '--warmup', '0', '--prompt-tokens', '32', '--gen-tokens', '8', '--threads', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { schema: string; target: { name: string }; results: { tg: { tokens: number; tokensPerSecond: { n: number } } } };
    assert.equal(report.schema, 'sovereign.bench/v1');
    assert.equal(report.target.name, 'sovereign-tiny-llama');
    assert.equal(report.results.tg.tokens, 8);
    assert.equal(report.results.tg.tokensPerSecond.n, 2);
  });

  it('exits 1 for a model that fails validation', async () => {
    const bad = await writeTinyLlama(join(dir, 'bad.gguf'), { omitKeys: ['llama.feed_forward_length'] });
    const r = await runCli(['bench', bad.path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /gguf\/missing-key/);
  });
});
