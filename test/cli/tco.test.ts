import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addModel } from '../../src/core/govern/admission';
import { initRegistry } from '../../src/core/govern/ops';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';
import { runCli } from '../helpers/cli';
import { makeRepo, type TestRepo } from '../core/registry/repo';

interface TcoJson {
  schema: string;
  selfHosted: { monthly: number; yearly: number; perRequest: number };
  api: { monthly: number; yearly: number; perRequest: number };
  breakEvenRequestsPerDay: number | null;
  machines: number;
  throughput: { inputTokensPerSecond: number; outputTokensPerSecond: number; source: string; secondsPerRequest: number };
  utilisation: { actual: number; planned: number; gap: number };
}

describe('sovereign tco (CLI; throughput from real stored benchmark results of the tiny GGUF)', function () {
  this.timeout(180_000);
  let repo: TestRepo;
  const cli = (args: string[]) => runCli(args, { cwd: repo.root, env: { SOVEREIGN_STORE: repo.store }, timeoutMs: 170_000 });
  const prices = ['--requests-per-day', '10000', '--input-tokens', '500', '--output-tokens', '200', '--api-input-price', '3', '--api-output-price', '15'];

  before(async () => {
    repo = await makeRepo();
    await initRegistry(repo.root);
    await repo.write('.sovereign/policy.yaml', 'version: 1\n');
    await writeTinyLlama(join(repo.base, 'tiny.gguf'));
    await addModel(repo.root, { input: join(repo.base, 'tiny.gguf'), name: 'tiny', version: '1.0.0' });
  });
  after(async () => repo?.cleanup());

  it('known inputs as options: the hand-computed figures of docs/tco.md', async () => {
    const r = await cli(['tco', ...prices, '--purchase-price', '12000', '--amortisation-months', '36', '--power-watts', '400', '--electricity-price', '0.3', '--input-tokens-per-second', '2000', '--output-tokens-per-second', '100', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as TcoJson;
    assert.equal(j.schema, 'sovereign.tco/v1');
    assert.ok(Math.abs(j.api.monthly - 1368.75) < 1e-9);
    assert.ok(Math.abs(j.selfHosted.monthly - 420.9333333333333) < 1e-9);
    assert.ok(Math.abs(j.breakEvenRequestsPerDay! - 3075.31202435312) < 1e-6);
    assert.equal(j.machines, 1);
  });

  it('reads the throughput from the model\'s stored benchmark results (a real bench --save with a load test)', async () => {
    const b = await cli(['bench', '.sovereign/models/tiny/1.0.0.yaml', '--save', '--repetitions', '1', '--warmup', '0', '--prompt-tokens', '32', '--gen-tokens', '8', '--threads', '1', '--concurrency', '2', '--duration', '1']);
    assert.equal(b.code, 0, b.stderr);
    const dir = join(repo.root, '.sovereign/benchmarks/tiny/1.0.0');
    const [file] = await readdir(dir);
    const stored = JSON.parse(await readFile(join(dir, file), 'utf8')) as { results: { pp: { tokensPerSecond: { mean: number } }; load: { completionTokensPerSecond: number; clients: number } } };
    await writeFile(join(repo.base, 'tco.yaml'), 'model: tiny@1.0.0\nrequests_per_day: 10000\ninput_tokens: 500\noutput_tokens: 200\nhardware:\n  name: small box\n  purchase_price: 12000\n  amortisation_months: 36\n  power_watts: 400\n  electricity_price: 0.3\napi:\n  name: example\n  input_per_million: 3\n  output_per_million: 15\n');
    const r = await cli(['tco', '--config', join(repo.base, 'tco.yaml'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as TcoJson;
    assert.equal(j.throughput.inputTokensPerSecond, stored.results.pp.tokensPerSecond.mean);
    assert.equal(j.throughput.outputTokensPerSecond, stored.results.load.completionTokensPerSecond);
    assert.match(j.throughput.source, new RegExp(`^\\.sovereign/benchmarks/tiny/1\\.0\\.0/${file.replace(/\./g, '\\.')} \\(load test, 2 clients\\)$`));
    assert.ok(Math.abs(j.throughput.secondsPerRequest - (500 / j.throughput.inputTokensPerSecond + 200 / j.throughput.outputTokensPerSecond)) < 1e-12);
    for (const k of ['monthly', 'yearly', 'perRequest'] as const) {
      assert.equal(typeof j.selfHosted[k], 'number');
      assert.equal(typeof j.api[k], 'number');
    }
    assert.ok(j.machines >= 1);
    // options override the file
    const o = await cli(['tco', '--config', join(repo.base, 'tco.yaml'), '--requests-per-day', '20000', '--json']);
    assert.ok(Math.abs((JSON.parse(o.stdout) as TcoJson).api.monthly - 2 * j.api.monthly) < 1e-6);
    const text = await cli(['tco', '--config', join(repo.base, 'tco.yaml')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /break-even/);
    assert.match(text.stdout, /utilisation the load uses/);
  });

  it('usage errors exit 2: no throughput source, no stored results, a bad key, an impossible value', async () => {
    const none = await cli(['tco', ...prices, '--hourly-price', '1']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /throughput is unknown/);
    const unknown = await cli(['tco', ...prices, '--hourly-price', '1', '--model', 'tiny@9.9.9']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no stored benchmark results for tiny@9\.9\.9[\s\S]*sovereign bench/);
    await writeFile(join(repo.base, 'bad.yaml'), 'requests_per_dya: 5\n');
    const bad = await cli(['tco', '--config', join(repo.base, 'bad.yaml')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown key "requests_per_dya"/);
    const util = await cli(['tco', ...prices, '--hourly-price', '1', '--utilisation', '2', '--input-tokens-per-second', '10', '--output-tokens-per-second', '10']);
    assert.equal(util.code, 2);
    assert.match(util.stderr, /utilisation must be in/);
  });
});
