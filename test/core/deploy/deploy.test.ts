import { strict as assert } from 'node:assert';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { connectDocker, type Docker } from '../../../src/core/deploy/engine';
import { listDeployments, listGateways } from '../../../src/core/deploy/deployments';
import { deployStaging } from '../../../src/core/deploy/staging';
import { runCanary } from '../../../src/core/deploy/canary';
import { promote, removeModelDeployments, rollback } from '../../../src/core/deploy/lifecycle';
import { LABEL } from '../../../src/core/deploy/labels';
import { pruneImages } from '../../../src/core/deploy/prune';
import { internalNetworkName } from '../../../src/core/deploy/names';
import { addModel } from '../../../src/core/govern/admission';
import { initRegistry } from '../../../src/core/govern/ops';
import { ContentStore } from '../../../src/core/registry/store';
import { readAudit } from '../../../src/core/audit/log';
import { writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { makeRepo, type TestRepo } from '../registry/repo';
import { requireDocker } from './docker-gate';

/**
 * Against the REAL Docker engine: the tiny generated GGUF model is registered in a real git registry,
 * deployed, called, canaried, promoted, rolled back, and broken on purpose. Images are built once (the
 * first run of a machine pays the build) and reused by every test: they are content-hashed.
 */
const MODELS = ['dtiny', 'dtiny-bad', 'dtiny-crash', 'dtiny-corrupt'];

async function complete(url: string, prompt: string, maxTokens = 8): Promise<string> {
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0 }) });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { choices: Array<{ text: string }> };
  return body.choices[0].text;
}

/** Builds a tiny image from a Dockerfile (and a one-byte `marker` file) in the real engine. */
async function buildTiny(docker: Docker, tag: string, dockerfile: string): Promise<void> {
  const ctx = await mkdtemp(join(tmpdir(), 'sovereign-prune-'));
  try {
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    await writeFile(join(ctx, 'marker'), 'x');
    const stream = await docker.buildImage(tar.c({ cwd: ctx, portable: true }, ['Dockerfile', 'marker']) as unknown as NodeJS.ReadableStream, { t: tag, pull: false } as object);
    await new Promise<void>((done, fail) => docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => (err ? fail(err) : out.find((o) => o.error) ? fail(new Error(out.find((o) => o.error)!.error)) : done())));
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}

async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}

async function engineObjects(docker: Docker, model: string): Promise<{ containers: string[]; networks: string[] }> {
  const containers = (await docker.listContainers({ all: true, filters: { label: [`${LABEL.model}=${model}`] } })).map((c) => c.Names[0]);
  const networks = (await docker.listNetworks({ filters: { name: [internalNetworkName(model)] } })).map((n) => n.Name).filter((n) => n === internalNetworkName(model));
  return { containers, networks };
}

describe('deploy: staging on the real Docker engine', function () {
  this.timeout(600_000);
  let repo: TestRepo;
  let docker: Docker;
  let v1: TinyLlamaInfo;
  const figures: Record<string, unknown> = {};

  before(async function () {
    await requireDocker(this, 'test/core/deploy/deploy.test.ts');
    docker = await connectDocker();
    for (const m of MODELS) await removeModelDeployments({ model: m }).catch(() => undefined);
    repo = await makeRepo();
    await initRegistry(repo.root);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    // Two versions with the same weights (so greedy outputs agree exactly) but different bytes (digests).
    v1 = await writeTinyLlama(join(repo.base, 'tiny-1.gguf'), { name: 'deploy-tiny-1' });
    await writeTinyLlama(join(repo.base, 'tiny-2.gguf'), { name: 'deploy-tiny-2' });
    await addModel(repo.root, { input: join(repo.base, 'tiny-1.gguf'), name: 'dtiny', version: '1.0.0' });
    await addModel(repo.root, { input: join(repo.base, 'tiny-2.gguf'), name: 'dtiny', version: '1.1.0' });
    await addModel(repo.root, { input: join(repo.base, 'tiny-1.gguf'), name: 'dtiny-bad', version: '1.0.0' });
    await addModel(repo.root, { input: join(repo.base, 'tiny-1.gguf'), name: 'dtiny-crash', version: '1.0.0' });
    await writeTinyLlama(join(repo.base, 'tiny-3.gguf'), { name: 'deploy-tiny-3' });
    await addModel(repo.root, { input: join(repo.base, 'tiny-3.gguf'), name: 'dtiny-corrupt', version: '1.0.0' });
  });

  after(async function () {
    if (!docker) return;
    for (const m of MODELS) await removeModelDeployments({ model: m }).catch(() => undefined);
    await repo?.cleanup();
    if (Object.keys(figures).length) process.stderr.write(`deploy figures: ${JSON.stringify(figures)}\n`);
  });

  it('deploys a registered GGUF version and serves it on 127.0.0.1 (cold-start anatomy reported)', async () => {
    const r = await deployStaging({ root: repo.root, ref: 'dtiny@1.0.0', log: () => undefined });
    figures.coldStart = r.timings;
    assert.match(r.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(r.model, 'dtiny');
    assert.equal(r.version, '1.0.0');
    assert.match(r.sha256, /^[0-9a-f]{64}$/);
    assert.equal(r.manifestCommit, repo.git('log', '-1', '--format=%H', '--', '.sovereign/models/dtiny/1.0.0.yaml').trim());
    for (const k of ['imageBuildMs', 'containerStartMs', 'modelLoadMs', 'readyMs', 'gatewayMs', 'totalMs'] as const) assert.ok(r.timings[k] >= 0, k);
    assert.ok(typeof r.timings.firstTokenMs === 'number' && r.timings.firstTokenMs > 0);
    // Greedy decoding of the tiny model is known in advance: the endpoint really runs the model.
    assert.equal(await complete(r.url, 'abc', 5), v1.expectedCompletion('abc', 5));
  });

  it('runs with the promised isolation, read back from the engine', async () => {
    const [d] = await listDeployments({ model: 'dtiny' });
    assert.equal(d.role, 'stable');
    const info = (await docker.getContainer(d.containerId).inspect()) as unknown as {
      Config: { User: string; Labels: Record<string, string> };
      HostConfig: Record<string, unknown> & { PortBindings?: Record<string, unknown> | null; Binds: string[] };
      NetworkSettings: { Networks: Record<string, unknown> };
    };
    assert.equal(info.Config.User, '10001:10001');
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
    assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges:true']);
    assert.equal(info.HostConfig.Init, true);
    assert.ok((info.HostConfig.Memory as number) > 0 && (info.HostConfig.NanoCpus as number) > 0 && (info.HostConfig.PidsLimit as number) > 0);
    assert.ok(Object.keys(info.HostConfig.Tmpfs as object).includes('/tmp'));
    assert.match(info.HostConfig.Binds[0], /:\/models\/model\.gguf:ro$/);
    // Only the internal network; nothing published by the model container itself.
    assert.deepEqual(Object.keys(info.NetworkSettings.Networks), [internalNetworkName('dtiny')]);
    assert.ok(!info.HostConfig.PortBindings || !Object.keys(info.HostConfig.PortBindings).length);
    const net = (await docker.getNetwork(internalNetworkName('dtiny')).inspect()) as { Internal: boolean };
    assert.equal(net.Internal, true);
    for (const [k, v] of Object.entries({ model: 'dtiny', version: '1.0.0', sha256: d.sha256, role: 'stable' })) {
      assert.equal(info.Config.Labels[(LABEL as Record<string, string>)[k]], v);
    }
    // The gateway publishes on loopback only.
    const [gw] = await listGateways(docker, 'dtiny');
    const gi = (await docker.getContainer(gw.containerId).inspect()) as { HostConfig: { PortBindings: Record<string, Array<{ HostIp: string }>>; ReadonlyRootfs: boolean; CapDrop: string[] } };
    assert.deepEqual(Object.values(gi.HostConfig.PortBindings).flat().map((b) => b.HostIp), ['127.0.0.1']);
    assert.equal(gi.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(gi.HostConfig.CapDrop, ['ALL']);
  });

  it('the model container has no way out: an outbound connection fails', async () => {
    const [d] = await listDeployments({ model: 'dtiny' });
    const exec = await docker.getContainer(d.containerId).exec({
      Cmd: ['node', '-e', "const s=require('net').connect(80,'192.0.2.1');s.setTimeout(2500,()=>{console.log('NO-ROUTE timeout');process.exit(0)});s.on('error',e=>{console.log('NO-ROUTE '+e.code);process.exit(0)});s.on('connect',()=>{console.log('CONNECTED');process.exit(0)})"],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    const out = await new Promise<string>((resolve) => {
      let text = '';
      stream.on('data', (b: Buffer) => (text += b.toString('latin1')));
      stream.on('end', () => resolve(text));
    });
    assert.match(out, /NO-ROUTE/);
    assert.doesNotMatch(out, /CONNECTED/);
  });

  it('canary of 1.1.0 with shadow traffic: replay and live traffic agree exactly, promoted automatically, same URL; the alias moves with a commit', async () => {
    const before = (await listGateways(docker, 'dtiny'))[0].url!;
    // Live traffic through the gateway while the canary runs (mirroring is on from before the replay).
    const live: string[] = [];
    const report = await runCanary({
      root: repo.root,
      ref: 'dtiny@1.1.0',
      thresholds: { maxLatencyRatio: 20 },
      alias: 'staging',
      shadow: { share: 1, seconds: 2 },
      log: () => undefined,
      onProgress: async (done) => {
        if (done !== 1) return;
        for (const prompt of ['abc', 'Hello', 'xyz', 'qrs']) live.push(await complete(before, prompt, 5));
      },
    });
    assert.equal(report.verdict, 'promoted', report.reasons.join('; '));
    assert.equal(report.agreement, 1);
    assert.equal(report.canary.errors, 0);
    assert.deepEqual(live, ['abc', 'Hello', 'xyz', 'qrs'].map((p) => v1.expectedCompletion(p, 5)), 'the clients got their answers');
    const shadow = report.shadow!;
    figures.shadow = shadow;
    // Exactly the 4 live requests were eligible: the replay itself is marked and not mirrored.
    assert.equal(shadow.eligible, 4);
    assert.ok(shadow.mirrored >= 1 && shadow.mirrored + shadow.skipped === 4, JSON.stringify(shadow));
    assert.equal(shadow.comparable, shadow.mirrored);
    assert.equal(shadow.agreement, 1);
    assert.equal(shadow.canaryErrors, 0);
    assert.ok(shadow.stableP50Ms > 0 && shadow.canaryP50Ms > 0);
    const audited = (await readAudit(repo.root)).filter((e) => e.action === 'canary').at(-1)!;
    assert.equal((audited.details as { shadow: { mirrored: number } }).shadow.mirrored, shadow.mirrored);
    assert.ok(!JSON.stringify(audited).includes('mismatches'), 'no live outputs in the audit log');
    assert.equal(report.promotion?.url, before);
    const list = await listDeployments({ model: 'dtiny' });
    assert.deepEqual(list.map((d) => [d.version, d.role, d.running]), [['1.0.0', 'previous', true], ['1.1.0', 'stable', true]]);
    assert.deepEqual(list.map((d) => d.container), ['sov-dtiny-1.0.0', 'sov-dtiny-live']);
    assert.match(await readFile(join(repo.root, '.sovereign/models/dtiny/aliases.yaml'), 'utf8'), /staging: 1\.1\.0/);
    assert.match(repo.git('log', '-1', '--format=%s'), /staging/);
    assert.equal(await complete(before, 'abc', 5), v1.expectedCompletion('abc', 5));
  });

  it('rolls back to the previous version in one call (figure reported), on the same URL', async () => {
    const url = (await listGateways(docker, 'dtiny'))[0].url!;
    const r = await rollback({ root: repo.root, model: 'dtiny', reason: 'test' });
    figures.rollbackMs = Math.round(r.ms);
    figures.rollbackSwitchMs = Math.round(r.switchMs ?? -1);
    assert.equal(r.warm, true, 'the previous version was kept running');
    assert.equal(r.from, '1.1.0');
    assert.equal(r.to, '1.0.0');
    assert.equal(r.url, url);
    const list = await listDeployments({ model: 'dtiny' });
    assert.deepEqual(list.map((d) => [d.version, d.role]), [['1.0.0', 'stable'], ['1.1.0', 'previous']]);
    assert.equal(await complete(url, 'xyz', 3), v1.expectedCompletion('xyz', 3));
  });

  it('a canary killed mid-run is rejected and the stable version keeps serving', async () => {
    const url = (await listGateways(docker, 'dtiny'))[0].url!;
    const report = await runCanary({
      root: repo.root,
      ref: 'dtiny@1.1.0',
      thresholds: { maxLatencyRatio: 20 },
      log: () => undefined,
      onProgress: async (done) => {
        if (done === 2) {
          const canary = (await listDeployments({ model: 'dtiny' })).find((d) => d.role === 'canary');
          if (canary) await docker.getContainer(canary.containerId).kill();
        }
      },
    });
    assert.equal(report.verdict, 'rejected');
    assert.ok(report.reasons.some((r) => /stopped during the replay|error rate/.test(r)), report.reasons.join('; '));
    const list = await listDeployments({ model: 'dtiny' });
    assert.deepEqual(list.filter((d) => d.running).map((d) => [d.version, d.role]), [['1.0.0', 'stable']]);
    assert.ok(!list.some((d) => d.version === '1.1.0'), 'the rejected canary is removed');
    assert.equal(await complete(url, 'abc', 5), v1.expectedCompletion('abc', 5));
  });

  it('a canary outside a threshold is not promoted and says why', async () => {
    // The canary watches its traffic against the validation prompts it was given (no stored baseline prompt set).
    let canaryBaselinePrompts: number | undefined;
    const report = await runCanary({
      root: repo.root, ref: 'dtiny@1.1.0', requests: [{ prompt: 'abc' }, { prompt: 'hello' }], thresholds: { maxLatencyRatio: 20, maxP95Ms: 0.001 }, log: () => undefined,
      onProgress: async (done) => {
        if (done !== 1) return;
        const canary = (await listDeployments({ model: 'dtiny' })).find((d) => d.role === 'canary');
        const res = await fetch(`${canary!.directUrl}/v1/drift`);
        canaryBaselinePrompts = res.status === 200 ? ((await res.json()) as { baseline: { prompts: number } }).baseline.prompts : -res.status;
      },
    });
    assert.equal(canaryBaselinePrompts, 2, 'the canary runtime compares against its 2 validation prompts');
    assert.equal(report.verdict, 'rejected');
    assert.match(report.reasons.join('\n'), /p95 .* > 0\.001 ms/);
    assert.equal(report.agreement, 1);
    const stable = (await listDeployments({ model: 'dtiny' })).find((d) => d.role === 'stable');
    assert.equal(stable?.version, '1.0.0');
  });

  it('promote with no canary moves the alias to what serves', async () => {
    const r = await promote({ root: repo.root, model: 'dtiny', alias: 'staging' });
    assert.equal(r.to, '1.0.0');
    assert.equal(r.alias?.changed, true);
    const audit = await readAudit(repo.root);
    const actions = audit.map((e) => e.action);
    for (const a of ['deploy', 'canary', 'promote', 'rollback']) assert.ok(actions.includes(a), `audit has ${a}`);
  });

  it('a missing base image fails clearly and creates nothing', async () => {
    await assert.rejects(deployStaging({ root: repo.root, ref: 'dtiny-bad@1.0.0', baseImage: 'sovereign-missing-base:0', log: () => undefined }), /sovereign-missing-base:0 is not in the local engine/);
    assert.deepEqual(await engineObjects(docker, 'dtiny-bad'), { containers: [], networks: [] });
  });

  it('a cancelled deployment (the extension\'s cancel button) stops before the images and creates nothing', async () => {
    await assert.rejects(deployStaging({ root: repo.root, ref: 'dtiny-bad@1.0.0', signal: AbortSignal.abort(), log: () => undefined }), (err: Error) => err.name === 'AbortError');
    assert.deepEqual(await engineObjects(docker, 'dtiny-bad'), { containers: [], networks: [] });
  });

  it('a runtime that exits fails fast with its last log lines and leaves nothing behind', async () => {
    await assert.rejects(
      deployStaging({ root: repo.root, ref: 'dtiny-crash@1.0.0', serveArgs: ['--no-such-option'], readyTimeoutMs: 60_000, log: () => undefined }),
      (err: Error) => /exited|not ready/.test(err.message) && /last log lines/.test(err.message) && /no-such-option/.test(err.message),
    );
    assert.deepEqual(await engineObjects(docker, 'dtiny-crash'), { containers: [], networks: [] });
  });

  it('a store object that no longer matches its digest is refused before anything is created', async () => {
    const sha = (await readFile(join(repo.root, '.sovereign/models/dtiny-corrupt/1.0.0.yaml'), 'utf8')).match(/sha256: ([0-9a-f]{64})/)![1];
    const path = new ContentStore(repo.store).objectPath(sha);
    await chmod(path, 0o644);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(path, bytes);
    await assert.rejects(deployStaging({ root: repo.root, ref: 'dtiny-corrupt@1.0.0', log: () => undefined }), /no longer matches its sha256/);
    assert.deepEqual(await engineObjects(docker, 'dtiny-corrupt'), { containers: [], networks: [] });
  });

  it('prune removes the images no container uses, keeps those in use and never touches other images', async () => {
    const used = (await listDeployments({ docker, model: 'dtiny' })).filter((d) => d.running).map((d) => d.image);
    assert.ok(used.length, 'dtiny still runs');
    // An unused model image (built FROM the app image in use: its child) and an image of another tool.
    const unusedTag = `sovereign-model:prune-test-${process.pid}`;
    const foreignTag = `not-sovereign:prune-test-${process.pid}`;
    await buildTiny(docker, unusedTag, `FROM ${used[0]}\nLABEL ${LABEL.kind}=model-image prune.test=${process.pid}\n`);
    await buildTiny(docker, foreignTag, 'FROM scratch\nCOPY marker /marker\n');
    try {
      const dry = await pruneImages({ docker, dryRun: true });
      assert.ok(dry.removed.some((i) => i.tags.includes(unusedTag)), 'the unused image is a candidate');
      assert.ok(!dry.removed.some((i) => i.tags.includes(foreignTag)) && !dry.kept.some((i) => i.tags.includes(foreignTag)), 'images of other tools are not even listed');
      assert.ok(await imageExists(docker, unusedTag), 'a dry run removes nothing');

      const r = await pruneImages({ docker });
      assert.ok(r.removed.some((i) => i.tags.includes(unusedTag)));
      assert.equal(await imageExists(docker, unusedTag), false);
      assert.ok(await imageExists(docker, foreignTag), 'the foreign image stays');
      for (const image of used) {
        assert.ok(await imageExists(docker, image), `${image} is in use and stays`);
        assert.match(r.kept.find((i) => i.tags.includes(image))?.reason ?? '', /used by sov-dtiny/);
      }
      // What serves still serves.
      const live = (await listDeployments({ docker, model: 'dtiny' })).find((d) => d.role === 'stable')!;
      assert.equal(await complete(live.url!, 'abc', 4), await complete(live.directUrl!, 'abc', 4));
    } finally {
      await docker.getImage(unusedTag).remove().catch(() => undefined);
      await docker.getImage(foreignTag).remove().catch(() => undefined);
    }
  });

  it('remove takes every container and the network away', async () => {
    const r = await removeModelDeployments({ model: 'dtiny' });
    assert.ok(r.containers.length >= 2);
    assert.deepEqual(await engineObjects(docker, 'dtiny'), { containers: [], networks: [] });
  });
});
