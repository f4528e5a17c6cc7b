import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRepo, runMain, snapshotTree, weights, type MainResult, type TestRepo } from '../registry/repo';
import { tempDir } from '../../helpers/tmp';
import { startProxy, startRegistry, type TestRegistry } from './registry-server';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { pushVersion } from '../../../src/core/govern/oci-transfer';
import { registrySnapshot } from '../../../src/core/worker/registry-methods';

/** Runs the CLI in a workspace with that workspace's store. */
async function inRepo(repo: TestRepo, args: string[]): Promise<MainResult> {
  process.env.SOVEREIGN_STORE = repo.store;
  return runMain(args, repo.root);
}

interface PushJson {
  digest: string;
  tag: string;
  target: string;
  layers: { path: string; digest: string; outcome: string }[];
  referrers: { artifactType: string; digest: string }[];
}

function skopeo(...args: string[]): string {
  return execFileSync('skopeo', args, { encoding: 'utf8', env: { ...process.env, HOME: process.env.HOME ?? '/tmp' } });
}

describe('OCI push / pull against a real distribution registry (docker-registry)', function () {
  this.timeout(180_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let source: TestRepo;
  let dest: TestRepo;
  let reg: TestRegistry;
  const savedStore = process.env.SOVEREIGN_STORE;
  const savedDockerConfig = process.env.DOCKER_CONFIG;

  before(async () => {
    dir = await tempDir('sovereign-oci-');
    process.env.DOCKER_CONFIG = join(dir.path, 'docker-config'); // never the machine's own credentials
    reg = await startRegistry(join(dir.path, 'anon'));
    source = await makeRepo();
    dest = await makeRepo();
    for (const repo of [source, dest]) {
      assert.equal((await inRepo(repo, ['registry', 'init'])).code, 0);
    }
    // One key pair: the source signs with it, the destination trusts its public half.
    assert.equal((await runMain(['keygen', '--out', join(dir.path, 'keys')], dir.path)).code, 0);
    await mkdir(join(dest.root, 'keys'), { recursive: true });
    await writeFile(join(dest.root, 'keys/team.pem'), await readFile(join(dir.path, 'keys/public.pem')));
    await writeFile(join(dest.root, '.sovereign/policy.yaml'), 'version: 1\nsignature:\n  required: true\n  trusted_keys: [keys/team.pem]\n');
    dest.git('add', '-A');
    dest.git('commit', '-q', '-m', 'policy: signatures required');
    await mkdir(join(dir.path, 'model'));
    await writeFile(join(dir.path, 'model/weights.bin'), weights(300 * 1024));
    await writeFile(join(dir.path, 'model/tokenizer.json'), '{"model":{"type":"BPE"}}\n');
    const add = await inRepo(source, ['registry', 'add', join(dir.path, 'model'), '--name', 'coder', '--version', '1.0.0', '--license', 'mit', '--source', 'https://example.com/coder', '--key', join(dir.path, 'keys/private.pem')]);
    assert.equal(add.code, 0, add.stderr);
    await writeFile(join(dir.path, 'plain.bin'), weights(2048));
    const plain = await inRepo(source, ['registry', 'add', join(dir.path, 'plain.bin'), '--name', 'plain', '--version', '0.1.0', '--license', 'mit', '--source', 'https://example.com/plain']);
    assert.equal(plain.code, 0, plain.stderr);
  });

  after(async () => {
    await reg?.stop();
    await source?.cleanup();
    await dest?.cleanup();
    await dir?.cleanup();
    if (savedStore === undefined) delete process.env.SOVEREIGN_STORE;
    else process.env.SOVEREIGN_STORE = savedStore;
    if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedDockerConfig;
  });

  let pushed: PushJson;

  it('push: ModelPack layout, layer digests = the manifest\'s sha256, signature and scan report as referrers (tag-schema fallback)', async () => {
    const res = await inRepo(source, ['push', 'coder@1.0.0', `oci://${reg.host}/team/coder`, '--json']);
    assert.equal(res.code, 0, res.stderr);
    pushed = JSON.parse(res.stdout) as PushJson;
    assert.equal(pushed.tag, '1.0.0');
    assert.deepEqual(pushed.layers.map((l) => l.outcome), ['uploaded', 'uploaded', 'uploaded']);
    // What skopeo reads back is what push wrote.
    const raw = skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/coder:1.0.0`);
    assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, pushed.digest);
    const manifest = JSON.parse(raw) as { artifactType: string; config: { mediaType: string }; layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
    assert.equal(manifest.artifactType, 'application/vnd.cncf.model.manifest.v1+json');
    assert.equal(manifest.config.mediaType, 'application/vnd.cncf.model.config.v1+json');
    const yaml = readFileSync(join(source.root, '.sovereign/models/coder/1.0.0.yaml'), 'utf8');
    const byPath = Object.fromEntries(manifest.layers.map((l) => [l.annotations['org.cncf.model.filepath'], l]));
    for (const [path, media] of [['weights.bin', 'application/vnd.cncf.model.weight.v1.raw'], ['tokenizer.json', 'application/vnd.cncf.model.weight.config.v1.raw']]) {
      const sha = new RegExp(`path: ${path.replace('.', '\\.')}\\n\\s+sha256: ([0-9a-f]{64})`).exec(yaml)![1];
      assert.equal(byPath[path].digest, `sha256:${sha}`);
      assert.equal(byPath[path].mediaType, media);
    }
    assert.equal(byPath['.sovereign/models/coder/1.0.0.yaml'].mediaType, 'application/vnd.sovereign.model.manifest.v1+yaml');
    // distribution 2.8 has no referrers API: the sha256-HEX tag lists them.
    const index = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/coder:sha256-${pushed.digest.slice(7)}`)) as { manifests: { artifactType: string; digest: string }[] };
    assert.deepEqual(index.manifests.map((m) => m.artifactType).sort(), ['application/sarif+json', 'application/vnd.dev.sigstore.bundle.v0.3+json']);
    const sig = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/coder@${index.manifests.find((m) => m.artifactType.includes('sigstore'))!.digest}`)) as { subject: { digest: string } };
    assert.equal(sig.subject.digest, pushed.digest);
    // Pushing again sends nothing twice (HEAD before upload).
    const again = JSON.parse((await inRepo(source, ['push', 'coder@1.0.0', `oci://${reg.host}/team/coder`, '--json'])).stdout) as PushJson;
    assert.deepEqual(again.layers.map((l) => l.outcome), ['exists', 'exists', 'exists']);
    assert.equal(again.digest, pushed.digest);
    // Where the version is published, as the Models view reads it (the push entries of the audit log).
    process.env.SOVEREIGN_STORE = source.store;
    const snap = await registrySnapshot(source.root);
    const published = snap.versions.find((v) => v.name === 'coder' && v.version === '1.0.0')?.published;
    assert.deepEqual(published?.map((p) => ({ target: p.target, digest: p.digest, signed: p.signed, referrers: p.referrers.length })), [{ target: `oci://${reg.host}/team/coder:1.0.0`, digest: pushed.digest, signed: true, referrers: 2 }]);
  });

  it('pull: digests, signature against the trusted keys, scan, policy, then one commit; the signature still verifies', async () => {
    const res = await inRepo(dest, ['pull', `oci://${reg.host}/team/coder:1.0.0`, '--json']);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { model: string; signature: { status: string }; commit: string };
    assert.equal(out.model, 'coder@1.0.0');
    assert.equal(out.signature.status, 'valid');
    assert.equal(readFileSync(join(dest.root, '.sovereign/models/coder/1.0.0.yaml'), 'utf8'), readFileSync(join(source.root, '.sovereign/models/coder/1.0.0.yaml'), 'utf8'));
    assert.match(dest.git('log', '-1', '--format=%s'), /^registry: pull coder@1\.0\.0 from oci:\/\//);
    const verify = await inRepo(dest, ['registry', 'verify', 'coder@1.0.0', '--json']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const audit = readFileSync(join(dest.root, '.sovereign/audit.jsonl'), 'utf8');
    assert.match(audit, /"action":"pull"/);
    assert.ok(audit.split('\n').some((l) => l.includes('"action":"egress"') && l.includes(`"subject":"http://${reg.host}"`) && l.includes('"via":"oci"')), 'the connection is in the audit log');
    // Pulling the same version again is a no-op (exit 0).
    const again = await inRepo(dest, ['pull', `oci://${reg.host}/team/coder@${pushed.digest}`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already registered/);
  });

  /** Registers a new signed version of coder with fresh weights of `size` bytes. */
  async function addVersion(version: string, size: number): Promise<Buffer> {
    const folder = join(dir.path, `model-${version}`);
    await mkdir(folder, { recursive: true });
    const bytes = weights(size);
    await writeFile(join(folder, 'weights.bin'), bytes);
    const add = await inRepo(source, ['registry', 'add', folder, '--name', 'coder', '--version', version, '--license', 'mit', '--source', 'https://example.com/coder', '--key', join(dir.path, 'keys/private.pem')]);
    assert.equal(add.code, 0, add.stderr);
    return bytes;
  }

  function storedObject(repo: TestRepo, bytes: Buffer): string {
    const sha = createHash('sha256').update(bytes).digest('hex');
    return join(repo.store, 'sha256', sha.slice(0, 2), sha.slice(2));
  }

  it('a blob changed in the registry\'s storage is refused on pull: exit 1, nothing written, nothing stored', async () => {
    const bytes = await addVersion('1.1.0', 64 * 1024);
    assert.equal((await inRepo(source, ['push', 'coder@1.1.0', `oci://${reg.host}/team/coder`])).code, 0);
    const file = reg.blobFile(`sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    const tampered = Buffer.from(readFileSync(file));
    tampered[100] ^= 0xff;
    chmodSync(file, 0o644);
    writeFileSync(file, tampered);
    const before = await snapshotTree(dest);
    const res = await inRepo(dest, ['pull', `oci://${reg.host}/team/coder:1.1.0`, '--json']);
    assert.equal(res.code, 1, res.stderr);
    const out = JSON.parse(res.stdout) as { ok: boolean; stage: string; message: string };
    assert.equal(out.stage, 'digest');
    assert.match(out.message, /does not match its digest/);
    assert.equal(await snapshotTree(dest), before);
    assert.equal(existsSync(storedObject(dest, bytes)), false);
    assert.equal(existsSync(storedObject(dest, tampered)), false);
  });

  it('an unsigned version is refused by a policy that requires signatures (before any weight is downloaded)', async () => {
    assert.equal((await inRepo(source, ['push', 'plain@0.1.0', `oci://${reg.host}/team/plain`])).code, 0);
    const before = await snapshotTree(dest);
    const res = await inRepo(dest, ['pull', `oci://${reg.host}/team/plain:0.1.0`]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /plain@0\.1\.0 refused by the policy:\n\s+\[signature-required\] not signed/);
    assert.doesNotMatch(res.stderr, /download/);
    assert.equal(await snapshotTree(dest), before);
  });

  it('a connection cut between chunks: the upload resumes where the registry\'s Range says (nothing sent twice)', async () => {
    const bytes = await addVersion('1.2.0', Math.floor(2.5 * 1024 * 1024));
    const proxy = await startProxy(reg.port);
    try {
      proxy.cutAtRequest(/^PATCH /, 2); // config, first weights chunk, then the second chunk's request never reaches the registry
      const res = await inRepo(source, ['push', 'coder@1.2.0', `oci://${proxy.host}/team/coder`, '--chunk-mib', '1', '--json']);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(proxy.cuts(), 1);
      // The weights went through once (plus headers and the small blobs), not once and a half.
      assert.ok(proxy.forwarded() < bytes.length + 256 * 1024, `forwarded ${proxy.forwarded()} bytes for a ${bytes.length}-byte blob`);
    } finally {
      await proxy.stop();
    }
    const res = await inRepo(dest, ['pull', `oci://${reg.host}/team/coder:1.2.0`]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(readFileSync(storedObject(dest, bytes)), bytes);
  });

  it('a connection cut mid-chunk: distribution drops that upload session, the blob is sent again in a new one and the push completes', async () => {
    const bytes = await addVersion('1.3.0', Math.floor(2.5 * 1024 * 1024));
    const proxy = await startProxy(reg.port);
    try {
      proxy.cutAfter(1536 * 1024); // in the middle of the second 1 MiB chunk
      const res = await inRepo(source, ['push', 'coder@1.3.0', `oci://${proxy.host}/team/coder`, '--chunk-mib', '1']);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(proxy.cuts(), 1);
    } finally {
      await proxy.stop();
    }
    const res = await inRepo(dest, ['pull', `oci://${reg.host}/team/coder:1.3.0`]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(readFileSync(storedObject(dest, bytes)), bytes);
  });

  it('push --to-dir writes an OCI image layout that pull accepts; skopeo copies a registry artifact (and its referrers) to a layout that pull accepts', async () => {
    const other = await makeRepo();
    try {
      assert.equal((await inRepo(other, ['registry', 'init'])).code, 0);
      await mkdir(join(other.root, 'keys'), { recursive: true });
      await writeFile(join(other.root, 'keys/team.pem'), await readFile(join(dir.path, 'keys/public.pem')));
      await writeFile(join(other.root, '.sovereign/policy.yaml'), 'version: 1\nsignature:\n  required: true\n  trusted_keys: [keys/team.pem]\n');
      other.git('add', '-A');
      other.git('commit', '-q', '-m', 'policy');
      const layout = join(dir.path, 'layout');
      const push = await inRepo(source, ['push', 'coder@1.0.0', '--to-dir', layout, '--json']);
      assert.equal(push.code, 0, push.stderr);
      assert.ok(existsSync(join(layout, 'oci-layout')));
      // skopeo reads what push wrote to the folder.
      const raw = skopeo('inspect', '--raw', `oci:${layout}:1.0.0`);
      assert.equal(`sha256:${createHash('sha256').update(raw).digest('hex')}`, (JSON.parse(push.stdout) as PushJson).digest);
      const pulled = await inRepo(other, ['pull', `oci:${layout}:1.0.0`, '--json']);
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal((JSON.parse(pulled.stdout) as { signature: { status: string } }).signature.status, 'valid');

      // What skopeo copy placed: the artifact and its tag-schema referrers index, registry -> layout.
      const copied = join(dir.path, 'skopeo-layout');
      skopeo('copy', '--src-tls-verify=false', `docker://${reg.host}/team/coder:1.2.0`, `oci:${copied}:1.2.0`);
      const digest = `sha256:${createHash('sha256').update(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/coder:1.2.0`)).digest('hex')}`;
      skopeo('copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/team/coder:sha256-${digest.slice(7)}`, `oci:${copied}:sha256-${digest.slice(7)}`);
      const fromSkopeo = await inRepo(other, ['pull', `oci:${copied}:1.2.0`, '--json']);
      assert.equal(fromSkopeo.code, 0, fromSkopeo.stderr + fromSkopeo.stdout);
      assert.equal((JSON.parse(fromSkopeo.stdout) as { signature: { status: string } }).signature.status, 'valid');
    } finally {
      await other.cleanup();
    }
  });

  it('registry sync: aliases travel as tags (push), and come back as aliases of the pulled versions (pull, through the gate)', async () => {
    assert.equal((await inRepo(source, ['registry', 'alias', 'coder@1.0.0', 'stable'])).code, 0);
    const push = await inRepo(source, ['registry', 'sync', `oci://${reg.host}/mirror`, '--push', '--name', 'coder', '--alias', 'stable', '--json']);
    assert.equal(push.code, 0, push.stderr);
    assert.deepEqual((JSON.parse(push.stdout) as { pushed: { model: string }[] }).pushed.map((p) => p.model), ['coder@1.0.0']);
    const tags = (JSON.parse(skopeo('list-tags', '--tls-verify=false', `docker://${reg.host}/mirror/coder`)) as { Tags: string[] }).Tags.filter((t) => !t.startsWith('sha256-'));
    assert.deepEqual(tags.sort(), ['1.0.0', 'stable']);
    const third = await makeRepo();
    try {
      assert.equal((await inRepo(third, ['registry', 'init'])).code, 0);
      // Without a trusted key a signed version cannot be verified: refused, with the hint to add the key.
      const untrusted = await inRepo(third, ['registry', 'sync', `oci://${reg.host}/mirror`, '--pull', '--name', 'coder']);
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.stderr, /refused .*mirror\/coder:1\.0\.0: coder@1\.0\.0 refused: its signature does not verify/);
      await mkdir(join(third.root, 'keys'), { recursive: true });
      await writeFile(join(third.root, 'keys/team.pem'), await readFile(join(dir.path, 'keys/public.pem')));
      await writeFile(join(third.root, '.sovereign/policy.yaml'), 'version: 1\nsignature:\n  trusted_keys: [keys/team.pem]\n');
      third.git('add', '-A');
      third.git('commit', '-q', '-m', 'trust the team key');
      const pull = await inRepo(third, ['registry', 'sync', `oci://${reg.host}/mirror`, '--pull', '--name', 'coder', '--alias', 'stable', '--json']);
      assert.equal(pull.code, 0, pull.stderr);
      const out = JSON.parse(pull.stdout) as { pulled: { model: string }[]; aliases: { alias: string; version: string }[] };
      assert.deepEqual(out.pulled.map((p) => p.model), ['coder@1.0.0']);
      assert.deepEqual(out.aliases.map((a) => `${a.alias}->${a.version}`), ['stable->1.0.0']);
      const show = JSON.parse((await inRepo(third, ['registry', 'show', 'coder@stable', '--json'])).stdout) as { version: string };
      assert.equal(show.version, '1.0.0');
    } finally {
      await third.cleanup();
    }
  });

  it('deploy export-k8s --oci-repo: an image volume pinned to the pushed digest, and an admission policy that admits only that signed digest', async () => {
    await writeTinyLlama(join(dir.path, 'tiny.gguf'));
    const add = await inRepo(source, ['registry', 'add', join(dir.path, 'tiny.gguf'), '--name', 'tiny', '--version', '1.0.0', '--license', 'mit', '--source', 'https://example.com/tiny', '--key', join(dir.path, 'keys/private.pem')]);
    assert.equal(add.code, 0, add.stderr);
    const push = await inRepo(source, ['push', 'tiny@1.0.0', `oci://${reg.host}/team/tiny`, '--json']);
    assert.equal(push.code, 0, push.stderr);
    const digest = (JSON.parse(push.stdout) as PushJson).digest;
    // The source workspace trusts no key yet: it cannot vouch for the signature, so it does not export it.
    const untrusted = await inRepo(source, ['deploy', 'export-k8s', 'tiny@1.0.0', '--oci-repo', `oci://${reg.host}/team/tiny`]);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /admits signed digests only/);
    await mkdir(join(source.root, 'keys'), { recursive: true });
    await writeFile(join(source.root, 'keys/team.pem'), await readFile(join(dir.path, 'keys/public.pem')));
    await writeFile(join(source.root, '.sovereign/policy.yaml'), 'version: 1\nsignature:\n  trusted_keys: [keys/team.pem]\n');
    const res = await inRepo(source, ['deploy', 'export-k8s', 'tiny@1.0.0', '--oci-repo', `oci://${reg.host}/team/tiny`, '--namespace', 'models', '--json']);
    assert.equal(res.code, 0, res.stderr);
    const objects = JSON.parse(res.stdout) as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const pod = deployment.spec.template.spec;
    const reference = `${reg.host}/team/tiny@${digest}`;
    assert.deepEqual(pod.volumes.find((v: { name: string }) => v.name === 'model-oci'), { name: 'model-oci', image: { reference, pullPolicy: 'IfNotPresent' } });
    assert.ok(!pod.volumes.some((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim), 'no store claim');
    const args = pod.containers[0].args as string[];
    assert.equal(args[args.indexOf('--model') + 1], '/models/oci/tiny.gguf');
    const vap = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
    const binding = objects.find((o) => o.kind === 'ValidatingAdmissionPolicyBinding')!;
    assert.ok(vap.spec.validations[0].expression.includes(`'${reference}'`));
    assert.equal(binding.spec.policyName, vap.metadata.name);
    assert.deepEqual(binding.spec.validationActions, ['Deny']);
    // Against the Kubernetes schemas (kubernetes-models' validators).
    type Ctor = new (data: unknown) => { validate(): void };
    const apps = (await import('kubernetes-models/apps/v1')) as unknown as { Deployment: Ctor };
    const adm = (await import('kubernetes-models/admissionregistration.k8s.io/v1')) as unknown as { ValidatingAdmissionPolicy: Ctor; ValidatingAdmissionPolicyBinding: Ctor };
    new apps.Deployment(deployment).validate();
    new adm.ValidatingAdmissionPolicy(vap).validate();
    new adm.ValidatingAdmissionPolicyBinding(binding).validate();
  });

  it('a registry outside the egress policy is refused before any connection (exit 1, egress-refused in the audit log)', async () => {
    const res = await inRepo(source, ['push', 'plain@0.1.0', 'oci://203.0.113.7:5000/team/plain']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /endpoint https:\/\/203\.0\.113\.7:5000 is outside the allowed endpoints/);
    const audit = readFileSync(join(source.root, '.sovereign/audit.jsonl'), 'utf8');
    assert.ok(audit.split('\n').some((l) => l.includes('"action":"egress-refused"') && l.includes('"subject":"https://203.0.113.7:5000"')));
  });

  it('cancellation: an aborted signal stops a push between chunks with an AbortError, and the manifest is never tagged', async () => {
    await addVersion('1.4.0', 3 * 1024 * 1024);
    process.env.SOVEREIGN_STORE = source.store;
    const controller = new AbortController();
    await assert.rejects(
      pushVersion(source.root, 'coder@1.4.0', `oci://${reg.host}/team/cancel`, {
        chunkSize: 1024 * 1024,
        signal: controller.signal,
        onProgress: (done) => {
          if (done >= 1024 * 1024) controller.abort();
        },
      }),
      (err: Error) => err.name === 'AbortError',
    );
    assert.throws(() => skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/team/cancel:1.4.0`), /manifest unknown|not found/i);
  });
});
