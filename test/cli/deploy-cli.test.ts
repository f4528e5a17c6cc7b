import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addModel } from '../../src/core/govern/admission';
import { initRegistry } from '../../src/core/govern/ops';
import { removeModelDeployments } from '../../src/core/deploy/lifecycle';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';
import { runCli } from '../helpers/cli';
import { makeRepo, type TestRepo } from '../core/registry/repo';
import { requireDocker } from '../core/deploy/docker-gate';

/** The JSON contract of `sovereign deploy` that the extension and the evidence bundle rely on (real engine, real CLI). */
describe('sovereign deploy (CLI, real Docker engine)', function () {
  this.timeout(300_000);
  let repo: TestRepo;
  const env = (): NodeJS.ProcessEnv => ({ SOVEREIGN_STORE: repo.store });

  before(async function () {
    await requireDocker(this, 'test/cli/deploy-cli.test.ts');
    await removeModelDeployments({ model: 'clitiny' }).catch(() => undefined);
    repo = await makeRepo();
    await initRegistry(repo.root);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    await writeTinyLlama(join(repo.base, 't.gguf'), { name: 'cli-tiny' });
    await addModel(repo.root, { input: join(repo.base, 't.gguf'), name: 'clitiny', version: '2.0.0' });
    await addModel(repo.root, { input: join(repo.base, 't.gguf'), name: 'clibad', version: '1.0.0', license: 'proprietary' });
  });

  after(async () => {
    await removeModelDeployments({ model: 'clitiny' }).catch(() => undefined);
    await removeModelDeployments({ model: 'clibad' }).catch(() => undefined);
    await repo?.cleanup();
  });

  it('deploy staging --json --copy: url, container, image, model, sha256, version, cold-start timings', async () => {
    const r = await runCli(['deploy', 'staging', 'clitiny@2.0.0', '--json', '--copy'], { cwd: repo.root, env: env(), timeoutMs: 280_000 });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown> & { timings: Record<string, number | null> };
    assert.match(String(j.url), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(j.container, 'sov-clitiny-live');
    assert.match(String(j.image), /^sovereign-model:/);
    assert.equal(j.model, 'clitiny');
    assert.equal(j.version, '2.0.0');
    assert.equal(j.modelMode, 'copy');
    assert.match(String(j.sha256), /^[0-9a-f]{64}$/);
    for (const k of ['imageBuildMs', 'containerStartMs', 'modelLoadMs', 'firstTokenMs']) assert.equal(typeof j.timings[k], 'number', k);
    const health = await fetch(`${String(j.url)}/health`);
    assert.equal(health.status, 200);
  });

  it('deploy status --json lists it from the engine labels; logs and remove work', async () => {
    const s = await runCli(['deploy', 'status', 'clitiny', '--json'], { cwd: repo.root, env: env() });
    assert.equal(s.code, 0, s.stderr);
    const list = JSON.parse(s.stdout) as Array<Record<string, unknown>>;
    assert.equal(list.length, 1);
    assert.equal(list[0].role, 'stable');
    assert.equal(list[0].modelMode, 'copy');
    const logs = await runCli(['deploy', 'logs', 'clitiny', '--tail', '50'], { cwd: repo.root, env: env() });
    assert.equal(logs.code, 0, logs.stderr);
    assert.ok(logs.stdout.length > 0, 'the runtime wrote something');
    const rb = await runCli(['deploy', 'rollback', 'clitiny'], { cwd: repo.root, env: env() });
    assert.equal(rb.code, 2);
    assert.match(rb.stderr, /no previous version/);
    const rm = await runCli(['deploy', 'remove', 'clitiny', '--json'], { cwd: repo.root, env: env() });
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual((JSON.parse(rm.stdout) as { containers: string[] }).containers.sort(), ['sov-clitiny-gateway', 'sov-clitiny-live']);
    const after = await runCli(['deploy', 'status', 'clitiny', '--json'], { cwd: repo.root, env: env() });
    assert.deepEqual(JSON.parse(after.stdout), []);
  });

  it('export-k8s writes the policy ConfigMap, Deployment, Service and NetworkPolicy (no engine needed)', async () => {
    const out = join(repo.base, 'k8s');
    const r = await runCli(['deploy', 'export-k8s', 'clitiny@2.0.0', '--output', out, '--json'], { cwd: repo.root, env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { files: string[] }).files, ['policy-configmap.yaml', 'deployment.yaml', 'service.yaml', 'networkpolicy.yaml']);
    // The workspace policy ships with the pod, and the runtime is told to apply it.
    assert.match(await readFile(join(out, 'policy-configmap.yaml'), 'utf8'), /policy\.yaml: \|\s+version: 1/);
    assert.match(await readFile(join(out, 'deployment.yaml'), 'utf8'), /- --policy\n\s+- \/policy\/policy\.yaml/);
  });

  it('deploy staging, canary and export-k8s refuse a version the workspace policy refuses: exit 1 with the reason', async () => {
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\nlicenses:\n  allowed: [mit, apache-2.0]\n');
    try {
      for (const args of [['deploy', 'staging', 'clibad@1.0.0'], ['deploy', 'canary', 'clibad@1.0.0'], ['deploy', 'export-k8s', 'clibad@1.0.0']]) {
        const r = await runCli(args, { cwd: repo.root, env: env(), timeoutMs: 120_000 });
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /clibad@1\.0\.0 refused by the workspace policy/);
        assert.match(r.stderr, /\[license\] license "proprietary" is not on the allowlist \(mit, apache-2\.0\)/);
        assert.equal(r.stdout, '');
      }
      const s = await runCli(['deploy', 'status', 'clibad', '--json'], { cwd: repo.root, env: env() });
      assert.deepEqual(JSON.parse(s.stdout), [], 'nothing was started');
    } finally {
      await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    }
  });
});
