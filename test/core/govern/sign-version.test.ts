import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addModel } from '../../../src/core/govern/admission';
import { loadRegistry } from '../../../src/core/registry/read';
import { signRegisteredVersion } from '../../../src/core/govern/sign-version';
import { verifyVersion } from '../../../src/core/govern/ops';
import { verifyWorkspaceAudit as verifyAudit } from '../../../src/core/govern/audit-verify';
import { trustedKey } from '../../../src/core/signing/keys';
import { makeRepo, weights, type TestRepo } from '../registry/repo';

describe('signing an already registered version (the "sign now" quick fix)', () => {
  let repo: TestRepo;
  before(async () => {
    repo = await makeRepo();
    await addModel(repo.root, { input: await repo.write('incoming/m.bin', weights()), name: 'm', version: '1.0.0', license: 'MIT' });
  });
  after(() => repo.cleanup());

  it('records the signature in the manifest, writes the bundle, audits and commits only those files', async () => {
    await repo.write('notes.txt', 'uncommitted user work\n');
    repo.git('add', 'notes.txt');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const result = await signRegisteredVersion(repo.root, 'm@1.0.0', privateKey);
    assert.match(result.commit, /^[0-9a-f]{40}$/);
    const committed = repo.git('show', '--name-only', '--format=', 'HEAD').trim().split('\n').sort();
    assert.deepEqual(committed, ['.sovereign/audit.jsonl', '.sovereign/models/m/1.0.0.yaml', result.signatureFile].sort());
    assert.match(repo.git('status', '--porcelain'), /^A {2}notes\.txt$/m, 'the user change stays staged and uncommitted');

    const registry = await loadRegistry(repo.root);
    const entry = registry.resolve('m@1.0.0');
    assert.equal(entry.manifest.signature?.key_id, result.keyId);
    const verified = await verifyVersion(repo.root, entry, { extraKeys: [trustedKey(publicKey, 'test')], audit: false });
    assert.equal(verified.signature.status, 'valid');
    assert.equal(verified.ok, true);
    assert.equal((await verifyAudit(repo.root)).ok, true);
  });

  it('detects a manifest edited after signing', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await signRegisteredVersion(repo.root, 'm@1.0.0', privateKey);
    const file = join(repo.root, '.sovereign/models/m/1.0.0.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('license: MIT', 'license: GPL-3.0'));
    const entry = (await loadRegistry(repo.root)).resolve('m@1.0.0');
    const verified = await verifyVersion(repo.root, entry, { extraKeys: [trustedKey(publicKey, 'test')], audit: false });
    assert.equal(verified.signature.status, 'invalid');
    assert.ok(verified.signature.changed.some((f) => f.endsWith('1.0.0.yaml')), JSON.stringify(verified.signature));
  });

  it('refuses an unknown version without touching the repository', async () => {
    const head = repo.git('rev-parse', 'HEAD');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await assert.rejects(signRegisteredVersion(repo.root, 'm@9.9.9', privateKey), /no version or alias "9\.9\.9"/);
    assert.equal(repo.git('rev-parse', 'HEAD'), head);
  });
});
