import { strict as assert } from 'node:assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importPrivateKey, listWorkspaceKeys, publicKeyFile, revokeKey, rotateSigningKey, trustPublicKey } from '../../../src/core/govern/signing-keys';
import { DEFAULT_POLICY, loadPolicy } from '../../../src/core/policy/load';
import { newKeyMaterial } from '../../../src/core/signing/keys';
import { readAudit } from '../../../src/core/audit/log';
import { makeRepo, runMain, weights, type TestRepo } from '../registry/repo';

describe('signing keys of a workspace: trust, rotation, revocation', function () {
  this.timeout(60_000);
  let repo: TestRepo;
  const keyA = newKeyMaterial();
  let keyAFile: string;

  before(async () => {
    repo = await makeRepo();
    keyAFile = join(repo.base, 'a.pem');
    await writeFile(keyAFile, keyA.privatePem, { mode: 0o600 });
    await writeFile(join(repo.base, 'w1.bin'), weights());
    await writeFile(join(repo.base, 'w2.bin'), weights());
  });
  after(() => repo.cleanup());

  it('trusting a key where there is no policy writes the public key and a policy with the default rules plus that key', async () => {
    const t = await trustPublicKey(repo.root, keyA);
    assert.deepEqual(t, { keyId: keyA.keyId, file: publicKeyFile(keyA.keyId), added: true });
    assert.equal(await readFile(join(repo.root, t.file), 'utf8'), keyA.publicPem);
    const { policy, exists } = await loadPolicy(repo.root);
    assert.ok(exists);
    assert.deepEqual({ ...policy, signature: undefined }, { ...DEFAULT_POLICY, signature: undefined }, 'nothing but the key changed');
    assert.deepEqual(policy.signature?.trusted_keys, [t.file]);
    assert.equal((await trustPublicKey(repo.root, keyA)).added, false, 'trusting twice adds nothing');
  });

  it('rotation trusts a new key beside the old one: versions signed before stay valid, new ones verify with the new key', async () => {
    const add1 = await runMain(['registry', 'add', join(repo.base, 'w1.bin'), '--name', 'w', '--version', '1.0.0', '--key', keyAFile], repo.root);
    assert.equal(add1.code, 0, add1.stderr);
    const r = await rotateSigningKey(repo.root, keyA.privatePem);
    assert.equal(r.oldKeyId, keyA.keyId);
    assert.equal(r.revokedOld, undefined);
    assert.notEqual(r.material.keyId, keyA.keyId);
    const keys = await listWorkspaceKeys(repo.root);
    assert.deepEqual(keys.map((k) => k.keyId).sort(), [keyA.keyId, r.material.keyId].sort());
    const keyBFile = join(repo.base, 'b.pem');
    await writeFile(keyBFile, r.material.privatePem, { mode: 0o600 });
    const add2 = await runMain(['registry', 'add', join(repo.base, 'w2.bin'), '--name', 'w', '--version', '2.0.0', '--key', keyBFile], repo.root);
    assert.equal(add2.code, 0, add2.stderr);
    const v = await runMain(['registry', 'verify', 'w'], repo.root);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, new RegExp(`ok      w@1\\.0\\.0\\n  signature valid, key ${keyA.keyId}`));
    assert.match(v.stdout, new RegExp(`ok      w@2\\.0\\.0\\n  signature valid, key ${r.material.keyId}`));
    assert.ok((await readAudit(repo.root)).some((e) => e.action === 'key-rotate' && e.subject === r.material.keyId));
  });

  it('a revoked key: its versions are refused by registry verify and sovereign verify, naming the key and the reason', async () => {
    const r = await revokeKey(repo.root, keyA.keyId, 'laptop lost on 2026-12-01');
    assert.equal(r.added, true);
    assert.equal((await revokeKey(repo.root, keyA.keyId, 'again')).added, false);
    const { policy } = await loadPolicy(repo.root);
    assert.equal(policy.signature?.revoked_keys?.[0].key_id, keyA.keyId);
    assert.match(policy.signature?.revoked_keys?.[0].revoked_at ?? '', /^\d{4}-\d{2}-\d{2}$/);
    assert.equal((await listWorkspaceKeys(repo.root)).find((k) => k.keyId === keyA.keyId)?.revoked, 'laptop lost on 2026-12-01');

    const v = await runMain(['registry', 'verify', 'w'], repo.root);
    assert.equal(v.code, 1);
    assert.match(v.stdout, new RegExp(`FAILED  w@1\\.0\\.0\\n  signature INVALID: signed by revoked key ${keyA.keyId} \\(.*${keyA.keyId.slice(0, 16)}\\.pub\\.pem\\): laptop lost on 2026-12-01; it is listed under signature\\.revoked_keys`));
    assert.match(v.stdout, /ok {6}w@2\.0\.0/, 'the version signed with the new key is unaffected');

    // A model folder signed with the revoked key, verified with `sovereign verify` inside the workspace.
    const folder = join(repo.base, 'folder-model');
    await mkdir(folder);
    await writeFile(join(folder, 'weights.bin'), weights());
    assert.equal((await runMain(['sign', folder, '--key', keyAFile], repo.root)).code, 0);
    const pub = join(repo.root, publicKeyFile(keyA.keyId));
    const verify = await runMain(['verify', folder, '--key', pub], repo.root);
    assert.equal(verify.code, 1);
    assert.match(verify.stdout, new RegExp(`^INVALID: signed by revoked key ${keyA.keyId} .*: laptop lost on 2026-12-01`));
    assert.ok((await readAudit(repo.root)).some((e) => e.action === 'key-revoke' && e.subject === keyA.keyId));
  });

  it('sovereign verify refuses to run on a malformed policy (it used to go on as if nothing were revoked)', async () => {
    const file = join(repo.root, '.sovereign/policy.yaml');
    const good = await readFile(file, 'utf8');
    try {
      await writeFile(file, good.replace('revoked_keys:', 'revoked_keyz:'));
      const folder = join(repo.base, 'folder-model');
      const r = await runMain(['verify', folder, '--key', join(repo.root, publicKeyFile(keyA.keyId))], repo.root);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /policy\.yaml:\d+:\d+: signature: unknown field "revoked_keyz"/);
    } finally {
      await writeFile(file, good);
    }
  });

  it('refuses what is not an EC P-256 private key, and key ids that are not 64 hex digits', async () => {
    assert.throws(() => importPrivateKey(keyA.publicPem, 'pub.pem'), /pub\.pem: not a PEM private key/);
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    assert.throws(() => importPrivateKey(rsa, 'rsa.pem'), /rsa\.pem: not an EC P-256 key/);
    await assert.rejects(revokeKey(repo.root, 'abc', 'x'), /"abc" is not a key id/);
  });
});
