import { strict as assert } from 'node:assert';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addModel, AdmissionRefused } from '../../../src/core/govern/admission';
import { lineageOf, whichUsed, buildLineageGraph } from '../../../src/core/registry/lineage';
import { parseManifest } from '../../../src/core/registry/manifest';
import { diffManifests, initRegistry, modelHistory, setAlias, verifyVersion } from '../../../src/core/govern/ops';
import { loadRegistry } from '../../../src/core/registry/read';
import { ContentStore } from '../../../src/core/registry/store';
import { findWorkspaceRoot, resolveStoreRoot } from '../../../src/core/workspace/workspace';
import { generateKeys } from '../../../src/core/signing/keys';
import { tempDir } from '../../helpers/tmp';
import { EVIL_PICKLE, makeRepo, snapshotTree, weights, type TestRepo } from './repo';

describe('model registry (real git, real scanner)', function () {
  this.timeout(60_000);
  let repo: TestRepo;
  beforeEach(async () => {
    repo = await makeRepo();
    await initRegistry(repo.root);
    // The default policy requires license and source; most tests here are about the registry, not the policy.
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
  });
  afterEach(() => repo.cleanup());

  it('finds the workspace root from a subfolder, and explains what to do outside git', async () => {
    await repo.write('sub/dir/x.txt', 'x');
    assert.equal(await findWorkspaceRoot(join(repo.root, 'sub', 'dir')), await findWorkspaceRoot(repo.root));
    const outside = await tempDir();
    try {
      await assert.rejects(findWorkspaceRoot(outside.path), (e: Error & { hint?: string }) => /not inside a git repository/.test(e.message) && /git init/.test(e.hint ?? ''));
    } finally {
      await outside.cleanup();
    }
  });

  it('refuses a store inside the repository', async () => {
    await assert.rejects(resolveStoreRoot(repo.root, { SOVEREIGN_STORE: join(repo.root, 'store') }), /inside the repository/);
  });

  it('registers a file: manifest, read-only store object, one commit with the audit log', async () => {
    const file = await repo.write('models/tiny.bin', weights());
    const r = await addModel(repo.root, { input: file, name: 'tiny', version: '1.0.0', license: 'mit', source: { uri: 'file:models/tiny.bin' } });
    assert.equal(r.manifestFile, '.sovereign/models/tiny/1.0.0.yaml');
    const sha = r.manifest.artifacts[0].sha256;
    const object = join(repo.store, 'sha256', sha.slice(0, 2), sha.slice(2));
    assert.equal((await stat(object)).mode & 0o777, 0o444, 'store objects are read-only');
    assert.deepEqual(await readFile(object), await readFile(file));
    assert.equal(repo.git('log', '-1', '--format=%s').trim(), `registry: add tiny@1.0.0 (sha256:${sha.slice(0, 8)})`);
    const changed = repo.git('show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort();
    assert.deepEqual(changed, ['.sovereign/audit.jsonl', '.sovereign/models/tiny/1.0.0.yaml']);
    const audit = (await readFile(join(repo.root, '.sovereign/audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { action: string; subject: string });
    assert.deepEqual(audit.map((a) => a.action), ['scan', 'register']);
    assert.equal(repo.git('status', '--porcelain', '--', '.sovereign/models', '.sovereign/audit.jsonl').trim(), '');
    const parsed = parseManifest(await readFile(join(repo.root, r.manifestFile), 'utf8'), r.manifestFile);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.manifest?.scan?.verdict, 'pass');
  });

  it('stores the same weights once across versions and verifies them by re-hashing', async () => {
    const file = await repo.write('w.bin', weights(10_000));
    const a = await addModel(repo.root, { input: file, name: 'dup', version: '1.0.0' });
    const b = await addModel(repo.root, { input: file, name: 'dup', version: '1.0.1' });
    assert.equal(a.stored[0].added, true);
    assert.equal(b.stored[0].added, false);
    assert.equal(b.stored[0].method, 'existing');
    const reg = await loadRegistry(repo.root);
    const v = await verifyVersion(repo.root, reg.resolve('dup@1.0.1'));
    assert.equal(v.ok, true);
    const object = new ContentStore(repo.store).objectPath(a.manifest.artifacts[0].sha256);
    await chmod(object, 0o644);
    const bytes = await readFile(object);
    bytes[100] ^= 0xff;
    await writeFile(object, bytes);
    const bad = await verifyVersion(repo.root, reg.resolve('dup@1.0.0'));
    assert.equal(bad.ok, false);
    assert.equal(bad.artifacts[0].status, 'corrupt');
  });

  it('never sweeps the user\'s unrelated staged or unstaged changes into a registry commit', async () => {
    await repo.write('src/app.py', 'print(1)\n');
    repo.git('add', 'src/app.py');
    repo.git('commit', '-q', '-m', 'app');
    await repo.write('src/app.py', 'print(2)\n'); // unstaged change
    await repo.write('staged.txt', 'staged\n');
    repo.git('add', 'staged.txt'); // staged new file
    await repo.write('untracked.txt', 'u\n');
    const before = repo.git('status', '--porcelain');
    const file = await repo.write('../outside.bin', weights());
    await addModel(repo.root, { input: file, name: 'clean', version: '0.1.0' });
    const committed = repo.git('show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort();
    assert.deepEqual(committed, ['.sovereign/audit.jsonl', '.sovereign/models/clean/0.1.0.yaml']);
    assert.equal(repo.git('status', '--porcelain'), before, 'the user\'s changes are exactly as they were, staged stays staged');
  });

  it('a failure halfway (a git hook refuses the commit) leaves the repository exactly as it was', async () => {
    await repo.write('staged.txt', 'staged\n');
    repo.git('add', 'staged.txt');
    await writeFile(join(repo.root, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho "hook says no" >&2\nexit 1\n', { mode: 0o755 });
    const before = await snapshotTree(repo);
    const file = await repo.write('../w.bin', weights());
    await assert.rejects(addModel(repo.root, { input: file, name: 'broken', version: '1.0.0' }), /git commit failed.*nothing was changed/s);
    assert.equal(await snapshotTree(repo), before);
    await assert.rejects(setAlias(repo.root, 'broken@1.0.0', 'staging'), /no model named "broken"/);
  });

  it('a file that fails the scan never leaves quarantine and nothing is committed', async () => {
    const head = repo.git('rev-parse', 'HEAD');
    const evil = await repo.write('../innocent.bin', EVIL_PICKLE);
    let refused: AdmissionRefused | undefined;
    try {
      await addModel(repo.root, { input: evil, name: 'evil', version: '1.0.0' });
    } catch (e) {
      refused = e as AdmissionRefused;
    }
    assert.ok(refused instanceof AdmissionRefused, String(refused));
    assert.equal(refused.exitCode, 1);
    assert.equal(refused.stage, 'scan');
    assert.ok(refused.findings[0].findings.some((f) => f.severity === 'critical' || f.severity === 'high'));
    assert.ok(refused.quarantine && refused.quarantine.startsWith(join(repo.store, 'quarantine')));
    assert.deepEqual(await readFile(join(refused.quarantine, 'innocent.bin')), EVIL_PICKLE);
    const { readdir } = await import('node:fs/promises');
    const objects = await readdir(join(repo.store, 'sha256')).catch(() => []);
    assert.deepEqual(objects, [], 'nothing reached the store');
    assert.equal(repo.git('rev-parse', 'HEAD'), head);
    assert.equal((await loadRegistry(repo.root)).entries.length, 0);
  });

  it('refuses what the policy denies, and an active exception admits it (audited)', async () => {
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\nlicenses:\n  allowed: [apache-2.0]\n');
    const file = await repo.write('../w.bin', weights());
    await assert.rejects(addModel(repo.root, { input: file, name: 'gpl', version: '1.0.0', license: 'gpl-3.0' }), (e: AdmissionRefused) => e.stage === 'policy' && /\[license\]/.test(e.message));
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), `version: 1\nlicenses:\n  allowed: [apache-2.0]\nexceptions:\n  - model: gpl\n    rule: license\n    justification: legal approved internal research use\n    expires: ${tomorrow}\n`);
    const r = await addModel(repo.root, { input: file, name: 'gpl', version: '1.0.0', license: 'gpl-3.0' });
    assert.equal(r.waived.length, 1);
    const audit = await readFile(join(repo.root, '.sovereign/audit.jsonl'), 'utf8');
    assert.match(audit, /"action":"policy-exception"/);
  });

  it('aliases: one version per alias, a commit per move; signature required for production', async () => {
    const keys = await generateKeys(join(repo.base, 'keys'));
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), `version: 1\nsignature:\n  required_for_aliases: [production]\n  trusted_keys: [${join(repo.base, 'keys', 'public.pem')}]\n`);
    const file = await repo.write('../w.bin', weights());
    await addModel(repo.root, { input: file, name: 'm', version: '1.0.0' });
    await addModel(repo.root, { input: await repo.write('../w2.bin', weights()), name: 'm', version: '1.1.0', privateKey: keys.privateKeyPath });
    const s = await setAlias(repo.root, 'm@1.0.0', 'staging');
    assert.equal(s.changed, true);
    assert.equal(repo.git('log', '-1', '--format=%s').trim(), 'registry: alias staging -> m@1.0.0');
    await assert.rejects(setAlias(repo.root, 'm@1.0.0', 'production'), (e: Error & { exitCode: number }) => e.exitCode === 1 && /signature-required/.test(e.message));
    const p = await setAlias(repo.root, 'm@1.1.0', 'production');
    assert.equal(p.changed, true);
    const moved = await setAlias(repo.root, 'm@1.1.0', 'staging');
    assert.equal(moved.from, '1.0.0');
    const reg = await loadRegistry(repo.root);
    assert.deepEqual(reg.aliases.get('m'), { production: '1.1.0', staging: '1.1.0' });
    assert.equal(reg.resolve('m@production').manifest.version, '1.1.0');
    assert.equal((await setAlias(repo.root, 'm@1.1.0', 'staging')).changed, false);
    const history = await modelHistory(repo.root, 'm');
    assert.deepEqual(history.map((h) => h.subject.split(' (')[0]), ['registry: alias staging -> m@1.1.0', 'registry: alias production -> m@1.1.0', 'registry: alias staging -> m@1.0.0', 'registry: add m@1.1.0', 'registry: add m@1.0.0']);
    assert.equal(history[0].author, 'Test User');
  });

  it('signed versions: flipping one byte of an artifact or of the manifest fails verification naming the file', async () => {
    const keys = await generateKeys(join(repo.base, 'keys'));
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), `version: 1\nsignature:\n  trusted_keys: [${join(repo.base, 'keys')}]\n`);
    const r = await addModel(repo.root, { input: await repo.write('../model.bin', weights()), name: 's', version: '1.0.0', privateKey: keys.privateKeyPath });
    assert.equal(r.signatureFile, '.sovereign/models/s/1.0.0.sig');
    let reg = await loadRegistry(repo.root);
    const ok = await verifyVersion(repo.root, reg.resolve('s@1.0.0'));
    assert.equal(ok.ok, true, ok.signature.reason);
    assert.equal(ok.signature.keyId, keys.keyId);

    const manifestPath = join(repo.root, r.manifestFile);
    const original = await readFile(manifestPath, 'utf8');
    await writeFile(manifestPath, original.replace('name: s', 'name: s\ndescription: sneaky'));
    reg = await loadRegistry(repo.root);
    const m = await verifyVersion(repo.root, reg.resolve('s@1.0.0'));
    assert.equal(m.ok, false);
    assert.deepEqual(m.signature.changed, ['.sovereign/models/s/1.0.0.yaml']);
    await writeFile(manifestPath, original);

    const object = new ContentStore(repo.store).objectPath(r.manifest.artifacts[0].sha256);
    await chmod(object, 0o644);
    const bytes = await readFile(object);
    bytes[0] ^= 1;
    await writeFile(object, bytes);
    reg = await loadRegistry(repo.root);
    const a = await verifyVersion(repo.root, reg.resolve('s@1.0.0'));
    assert.equal(a.ok, false);
    assert.deepEqual(a.signature.changed, ['model.bin']);
    assert.match(a.signature.reason!, /changed: model\.bin/);
  });

  it('lineage: ancestors, descendants, which versions used a dataset (directly or inherited), the graph', async () => {
    const ds = `sha256:${'ab'.repeat(32)}`;
    await addModel(repo.root, { input: await repo.write('../base.bin', weights()), name: 'base', version: '1.0.0', datasets: [{ name: 'webcrawl', digest: ds }] });
    await addModel(repo.root, { input: await repo.write('../ft.bin', weights()), name: 'coder', version: '1.0.0', parents: [{ ref: 'base@1.0.0', derivation: 'fine-tune' }], datasets: [{ name: 'customer-tickets', version: '2024-06' }] });
    await addModel(repo.root, { input: await repo.write('../q.bin', weights()), name: 'coder-q4', version: '1.0.0', parents: [{ ref: 'coder@1.0.0', derivation: 'quantize' }] });
    await addModel(repo.root, { input: await repo.write('../other.bin', weights()), name: 'other', version: '1.0.0' });
    const reg = await loadRegistry(repo.root);
    const l = lineageOf(reg, 'coder@1.0.0');
    assert.deepEqual(l.ancestors.map((a) => [a.id, a.relation]).sort(), [['dataset:customer-tickets@2024-06', 'trained-on'], ['dataset:webcrawl@' + ds, 'trained-on'], ['model:base@1.0.0', 'fine-tune']].sort());
    assert.deepEqual(l.descendants.map((d) => d.id), ['model:coder-q4@1.0.0']);
    const used = whichUsed(reg, 'webcrawl');
    assert.deepEqual(used.direct.map((d) => d.model), ['base@1.0.0']);
    assert.deepEqual(used.inherited.map((d) => d.model).sort(), ['coder-q4@1.0.0', 'coder@1.0.0']);
    assert.deepEqual(whichUsed(reg, ds).direct.map((d) => d.model), ['base@1.0.0']);
    assert.deepEqual(whichUsed(reg, 'customer-tickets@2024-06').direct.map((d) => d.model), ['coder@1.0.0']);
    assert.equal(whichUsed(reg, 'nothing').direct.length, 0);
    const graph = buildLineageGraph(reg);
    assert.equal(graph.nodes.filter((n) => n.kind === 'model').length, 4);
    assert.equal(graph.nodes.filter((n) => n.kind === 'dataset').length, 2);
    assert.deepEqual(graph.edges.filter((e) => e.kind !== 'trained-on').map((e) => `${e.from} -> ${e.to} ${e.kind}`).sort(), ['model:base@1.0.0 -> model:coder@1.0.0 fine-tune', 'model:coder@1.0.0 -> model:coder-q4@1.0.0 quantize']);
    assert.deepEqual(graph.nodes.find((n) => n.id === 'model:other@1.0.0')?.status, { scan: 'pass', worst: 'none', signed: false, violations: 0 });
    await assert.rejects(addModel(repo.root, { input: await repo.write('../z.bin', weights()), name: 'z', version: '1.0.0', parents: [{ ref: 'ghost@1.0.0' }] }), /no model named "ghost"/);
  });

  it('diff between versions and immutable versions', async () => {
    const file = await repo.write('../w.bin', weights());
    await addModel(repo.root, { input: file, name: 'd', version: '1.0.0', license: 'mit' });
    await addModel(repo.root, { input: await repo.write('../w2.bin', weights(2000)), name: 'd', version: '2.0.0', license: 'apache-2.0' });
    const reg = await loadRegistry(repo.root);
    const changes = diffManifests(reg.resolve('d@1.0.0').manifest, reg.resolve('d@2.0.0').manifest);
    const byPath = new Map(changes.map((c) => [c.path, c]));
    assert.deepEqual(byPath.get('license'), { path: 'license', from: 'mit', to: 'apache-2.0', change: 'changed' });
    assert.equal(byPath.get('artifacts[0].size')?.to, 2000);
    assert.equal(reg.resolve('d').manifest.version, '2.0.0', 'NAME alone is the latest version');
    await assert.rejects(addModel(repo.root, { input: file, name: 'd', version: '1.0.0' }), /already registered/);
    await assert.rejects(addModel(repo.root, { input: file, name: 'd', version: 'v1' }), /not a semantic version/);
  });

  it('malformed manifests are reported as file:line:col with a fix; the index cache follows edits', async () => {
    await addModel(repo.root, { input: await repo.write('../w.bin', weights()), name: 'ok', version: '1.0.0' });
    expectVersions(await loadRegistry(repo.root), ['ok@1.0.0']);
    await repo.write('.sovereign/models/bad/1.0.0.yaml', 'name: bad\nversion: 1.0.0\nartifacts:\n  - path: x.bin\n    sha256: nothex\n    size: 3\nlicence: mit\n');
    const reg = await loadRegistry(repo.root);
    expectVersions(reg, ['ok@1.0.0']);
    const byLine = reg.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}; ${p.fix}`);
    assert.ok(byLine.some((l) => /^\.sovereign\/models\/bad\/1\.0\.0\.yaml:5:13: artifacts\[0\]\.sha256: "nothex" is not a valid sha256/.test(l)), byLine.join('\n'));
    assert.ok(byLine.some((l) => /:7:1: unknown field "licence"; remove it or fix its spelling/.test(l)), byLine.join('\n'));
    await repo.write('.sovereign/models/bad/1.0.0.yaml', `name: bad\nversion: 1.0.0\nartifacts:\n  - path: x.bin\n    sha256: ${'c'.repeat(64)}\n    size: 3\n`);
    expectVersions(await loadRegistry(repo.root), ['bad@1.0.0', 'ok@1.0.0']);
    await repo.write('.sovereign/models/bad/1.0.0.yaml', 'name: bad\nversion: [1.0.0\n');
    const broken = await loadRegistry(repo.root);
    assert.match(broken.problems[0].message, /invalid YAML/);
    assert.equal(broken.problems[0].file, '.sovereign/models/bad/1.0.0.yaml');
  });
});

function expectVersions(reg: Awaited<ReturnType<typeof loadRegistry>>, refs: string[]): void {
  assert.deepEqual(reg.entries.map((e) => `${e.manifest.name}@${e.manifest.version}`), refs);
}
