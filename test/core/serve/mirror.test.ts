import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { ServeRuntime } from '../../../src/core/serve/server';
import type { MirrorStats } from '../../../src/core/serve/mirror';
import { buildTinyLlama, writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { FRAUD_FEATURE_COUNT, syntheticFraudData } from '../../fixtures/onnx/fraudData';
import { writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';
import { call, stream } from './http-client';

const TOKEN = 'client-token-0123456789';
const ADMIN = 'admin-token-abcdefghijklmnop';
const client = { Authorization: `Bearer ${TOKEN}` };
const admin = { Authorization: `Bearer ${ADMIN}` };

/**
 * Shadow traffic against REAL serving runtimes on 127.0.0.1, each with its own engine process and the
 * generated tiny GGUF model: `stable` (client token + admin token) mirrors to `same` (the same model: greedy
 * outputs agree exactly) or to `other` (the same weights with the texts of `d` and `e` swapped in the
 * vocabulary: a continuation through d/e differs, any other agrees).
 */
describe('serve: shadow traffic (/admin/mirror) between two real runtimes', function () {
  this.timeout(120_000);
  let dir: string;
  let info: TinyLlamaInfo;
  let stable: RunningServer;
  let same: RunningServer;
  let other: RunningServer;

  const complete = (body: Record<string, unknown>) => call(stable.url, 'POST', '/v1/completions', body, client);
  const mirror = (method: string, body?: unknown, headers: Record<string, string> = admin) => call(stable.url, method, '/admin/mirror', body, headers);
  const stats = async (): Promise<MirrorStats> => (await mirror('GET')).json<MirrorStats>();
  /**
   * Waits until the mirror has finished `n` copies and has none in flight. The tests that count exactly
   * wait after each client request: copies to a busy canary may otherwise pass the in-flight bound
   * (2) and be skipped, which is the bound working, tested on its own below.
   */
  const settled = async (n: number): Promise<MirrorStats> => {
    let s = await stats();
    for (let i = 0; i < 300 && !(s.mirrored >= n && s.inFlight === 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
      s = await stats();
    }
    return s;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-mirror-'));
    info = await writeTinyLlama(join(dir, 'tiny.gguf'), { fim: true });
    const tokens = [...buildTinyLlama({ fim: true }).info.tokens];
    const d = tokens.indexOf('d');
    const e = tokens.indexOf('e');
    [tokens[d], tokens[e]] = [tokens[e], tokens[d]];
    await writeTinyLlama(join(dir, 'tiny-swapped.gguf'), { fim: true, extraKv: [['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: tokens }]] });
    const load = { threads: 1, contextSize: 512 };
    [stable, same, other] = await Promise.all([
      startServe({ model: info.path, port: 0, token: TOKEN, adminToken: ADMIN, parallel: 2, queue: 64, load }),
      startServe({ model: info.path, port: 0, load }),
      startServe({ model: join(dir, 'tiny-swapped.gguf'), port: 0, load }),
    ]);
  });

  after(async () => {
    await Promise.all([stable?.close(), same?.close(), other?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    if (stable) await mirror('DELETE');
  });

  it('the admin routes exist only with an admin token, and only that token opens them', async () => {
    assert.equal((await call(same.url, 'GET', '/admin/mirror')).status, 404, 'no admin token configured: no admin route');
    assert.equal((await call(same.url, 'PUT', '/admin/mirror', { target: stable.url, share: 1 }, admin)).status, 404);
    assert.equal((await mirror('GET', undefined, {})).status, 401);
    assert.equal((await mirror('GET', undefined, client)).status, 401, 'the client token is not the admin token');
    assert.equal((await mirror('PUT', { target: same.url, share: 1 }, { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await stats()).state, 'off');
    // The admin token cannot open the client routes either.
    assert.equal((await call(stable.url, 'POST', '/v1/completions', { prompt: 'a' }, admin)).status, 401);
    assert.throws(() => new ServeRuntime(stable.engine, { adminToken: 'short' }), /at least 16/);
    assert.throws(() => new ServeRuntime(stable.engine, { token: ADMIN, adminToken: ADMIN }), /differ/);
  });

  it('refuses a target outside the allowed endpoints, and malformed settings, with a 400', async () => {
    for (const target of ['http://169.254.169.254', 'http://8.8.8.8:8080', 'http://100.64.0.1:80']) {
      const r = await mirror('PUT', { target, share: 1 });
      assert.equal(r.status, 400, target);
      assert.match(r.json<{ error: { message: string } }>().error.message, /refused.*outside the allowed endpoints/);
    }
    for (const body of [{ target: same.url, share: 0 }, { target: same.url, share: 1.5 }, { target: same.url }, { target: `${same.url}/v1`, share: 1 }, { target: 'file:///etc/passwd', share: 1 }, { share: 1 }]) {
      assert.equal((await mirror('PUT', body)).status, 400, JSON.stringify(body));
    }
    assert.equal((await stats()).state, 'off');
  });

  it('share 0.5 mirrors every second request; identical models agree exactly; clients get their answers', async () => {
    const on = await mirror('PUT', { target: same.url, share: 0.5 });
    assert.equal(on.status, 200, on.text);
    assert.equal(on.json<MirrorStats>().state, 'on');
    const prompts = ['abc', 'Hello', 'xyz', 'def f(', 'SELECT', '1, 2,', 'a', 'qrs', 'Once', 'zz'];
    for (const prompt of prompts) {
      const r = await complete({ prompt, max_tokens: 6, temperature: 0 });
      assert.equal(r.status, 200);
      assert.equal(r.json<{ choices: Array<{ text: string }> }>().choices[0].text, info.expectedCompletion(prompt, 6));
      await settled(0);
    }
    const s = await settled(5);
    assert.equal(s.eligible, 10);
    assert.equal(s.mirrored, 5);
    assert.deepEqual(s.skipped, { busy: 0, tooBig: 0 });
    assert.equal(s.comparable, 5);
    assert.equal(s.agreement, 1);
    assert.equal(s.canaryErrors, 0);
    assert.equal(s.errorRate, 0);
    assert.equal(s.stable.samples, 5);
    assert.equal(s.canary.samples, 5);
    assert.ok(s.stable.p50Ms > 0 && s.canary.p50Ms > 0);
    assert.deepEqual(s.mismatches, []);
  });

  it('a streamed client request is mirrored without streaming and compared with the streamed text; temperature > 0 is not compared', async () => {
    assert.equal((await mirror('PUT', { target: same.url, share: 1 })).status, 200);
    const events: string[] = [];
    const { done } = stream(stable.url, '/v1/completions', { prompt: 'abc', max_tokens: 5, temperature: 0, stream: true }, client, (d) => events.push(d));
    assert.equal(await done, 200);
    assert.equal(events.at(-1), '[DONE]');
    await settled(1);
    assert.equal((await complete({ prompt: 'abc', max_tokens: 5, temperature: 0.9, seed: 3 })).status, 200);
    await settled(2);
    const infill = await call(stable.url, 'POST', '/infill', { input_prefix: 'def f(', input_suffix: '):', n_predict: 4 }, client);
    assert.equal(infill.status, 200);
    const s = await settled(3);
    assert.equal(s.mirrored, 3);
    assert.equal(s.comparable, 2, 'the streamed greedy completion and the infill (temperature 0 by default)');
    assert.equal(s.agreement, 1);
    assert.equal(s.canaryErrors, 0);
  });

  it('a different model gives mismatches (outputs truncated, prompts never reported)', async () => {
    assert.equal((await mirror('PUT', { target: other.url, share: 1 })).status, 200);
    assert.equal((await complete({ prompt: 'abc', max_tokens: 5, temperature: 0 })).json<{ choices: Array<{ text: string }> }>().choices[0].text, 'defgh');
    await settled(1);
    await complete({ prompt: 'xyz', max_tokens: 3, temperature: 0 });
    await settled(2);
    const { done } = stream(stable.url, '/v1/completions', { prompt: 'abc', max_tokens: 4, temperature: 0, stream: true }, client, () => undefined);
    assert.equal(await done, 200);
    const s = await settled(3);
    assert.equal(s.comparable, 3);
    assert.equal(s.agreeing, 1);
    assert.equal(Math.round(s.agreement! * 1000), 333);
    assert.deepEqual(s.mismatches, [
      { route: '/v1/completions', stable: 'defgh', canary: 'edfgh' },
      { route: '/v1/completions', stable: 'defg', canary: 'edfg' },
    ]);
    assert.ok(!JSON.stringify(s).includes('abc'), 'no prompt in the stats');
  });

  it('a hanging target never slows the clients: at most 2 copies in flight, the rest skipped, timeouts counted as errors', async () => {
    const sockets: Socket[] = [];
    const hang: Server = createServer((s) => void sockets.push(s));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const target = `http://127.0.0.1:${(hang.address() as AddressInfo).port}`;
      assert.equal((await mirror('PUT', { target, share: 1, timeout_ms: 4000 })).status, 200);
      const t0 = performance.now();
      const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => complete({ prompt: `x${i}`, max_tokens: 8, temperature: 0 })));
      const clientMs = performance.now() - t0;
      assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200, 200]);
      replies.forEach((r, i) => assert.equal(r.json<{ choices: Array<{ text: string }> }>().choices[0].text, info.expectedCompletion(`x${i}`, 8)));
      const during = await stats();
      assert.ok(clientMs < 4000, `the clients had their answers after ${Math.round(clientMs)} ms, before any copy timed out`);
      assert.equal(during.eligible, 6);
      assert.equal(during.maxInFlightSeen, 2);
      assert.equal(during.inFlight, 2);
      assert.equal(during.skipped.busy, 4);
      for (let i = 0; i < 50 && sockets.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(sockets.length, 2, 'the two copies reached the hanging target');
      const after = await settled(2);
      assert.equal(after.mirrored, 2);
      assert.equal(after.canaryErrors, 2);
      assert.equal(after.errorRate, 1);
      assert.equal(after.comparable, 0);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hang.close(r));
    }
  });

  it('a copy is never mirrored again, and mirroring switches itself off after `seconds`', async () => {
    assert.equal((await mirror('PUT', { target: same.url, share: 1, seconds: 1 })).status, 200);
    assert.equal((await call(stable.url, 'POST', '/v1/completions', { prompt: 'a', max_tokens: 2, temperature: 0 }, { ...client, 'X-Sovereign-Shadow': 'copy' })).status, 200);
    assert.equal((await stats()).eligible, 0, 'a request carrying the mirror header is not mirrored (no loops)');
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await complete({ prompt: 'a', max_tokens: 2, temperature: 0 })).status, 200);
    const s = await stats();
    assert.equal(s.state, 'expired');
    assert.equal(s.eligible, 0);
    const off = await mirror('DELETE');
    assert.equal(off.json<MirrorStats>().state, 'off');
  });
});

describe('serve: shadow traffic of ONNX predictions between two real runtimes', function () {
  this.timeout(60_000);
  let dir: string;
  let stable: RunningServer;
  let same: RunningServer;
  let retrained: RunningServer;
  const predictBody = (seed: number) => {
    const data = syntheticFraudData(4, seed);
    return { inputs: { features: { type: 'float32', dims: [4, FRAUD_FEATURE_COUNT], data: Array.from(data.features) } } };
  };
  const mirror = (method: string, body?: unknown) => call(stable.url, method, '/admin/mirror', body, admin);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-mirror-onnx-'));
    const model = await writeMlpClassifier(join(dir, 'fraud.onnx'));
    // Another seed: the same architecture, other weights (a retrained version): other probabilities.
    const other = await writeMlpClassifier(join(dir, 'fraud-7.onnx'), { seed: 7 });
    [stable, same, retrained] = await Promise.all([
      startServe({ model: model.path, port: 0, adminToken: ADMIN }),
      startServe({ model: model.path, port: 0 }),
      startServe({ model: other.path, port: 0 }),
    ]);
  });

  after(async () => {
    await Promise.all([stable?.close(), same?.close(), retrained?.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  async function run(target: string): Promise<MirrorStats> {
    assert.equal((await mirror('PUT', { target, share: 1 })).status, 200);
    for (const seed of [1, 2, 3]) {
      assert.equal((await call(stable.url, 'POST', '/v1/predict', predictBody(seed))).status, 200);
      for (let i = 0; i < 300 && (await mirror('GET')).json<MirrorStats>().inFlight > 0; i++) await new Promise((r) => setTimeout(r, 20));
    }
    return (await mirror('DELETE')).json<MirrorStats>();
  }

  it('identical models agree on every prediction; a retrained one does not; both count as comparable', async () => {
    const a = await run(same.url);
    assert.deepEqual([a.mirrored, a.comparable, a.agreement, a.canaryErrors], [3, 3, 1, 0]);
    const b = await run(retrained.url);
    assert.deepEqual([b.mirrored, b.comparable, b.canaryErrors], [3, 3, 0]);
    assert.ok(b.agreement! < 1, JSON.stringify(b));
    assert.equal(b.mismatches[0].route, '/v1/predict');
  });
});
