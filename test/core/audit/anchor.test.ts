import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointPathFor, makeCheckpoint } from '../../../src/core/audit/anchor';
import { appendAudit, auditFile } from '../../../src/core/audit/log';
import { verifyAudit } from '../../../src/core/audit/verify';
import { verifyWorkspaceAudit } from '../../../src/core/govern/audit-verify';
import { addModel } from '../../../src/core/govern/admission';
import { initRegistry } from '../../../src/core/govern/ops';
import { generateKeys, loadPrivateKey, loadPublicKey } from '../../../src/core/signing/keys';
import { tempDir } from '../../helpers/tmp';
import { makeRepo, weights } from '../registry/repo';

describe('audit checkpoint: a signed head that a cut or rewritten log no longer matches', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('sovereign-audit-cp-');
    for (let i = 1; i <= 4; i++) await appendAudit(dir.path, { action: 'register', subject: `m${i}@1.0.0` });
  });
  afterEach(() => dir.cleanup());

  async function signHead(keysDir: string): Promise<void> {
    const k = await generateKeys(join(dir.path, keysDir));
    const cp = makeCheckpoint(await readFile(auditFile(dir.path), 'utf8'), '.sovereign/audit.jsonl', await loadPrivateKey(k.privateKeyPath));
    await writeFile(checkpointPathFor(auditFile(dir.path)), JSON.stringify(cp, null, 2) + '\n');
  }

  it('verifies with a trusted key; a cut log is reported with the first missing seq', async () => {
    await signHead('keys');
    const trusted = [await loadPublicKey(join(dir.path, 'keys', 'public.pem'))];
    const ok = await verifyAudit(dir.path, { trustedKeys: trusted });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    assert.equal(ok.checkpoint?.present, true);
    assert.equal(ok.checkpoint?.seq, 4);
    const lines = (await readFile(auditFile(dir.path), 'utf8')).split('\n');
    await writeFile(auditFile(dir.path), lines.slice(0, 2).join('\n') + '\n');
    const cut = await verifyAudit(dir.path, { trustedKeys: trusted });
    assert.equal(cut.chainOk, true, 'the chain alone does not see it');
    assert.equal(cut.ok, false);
    assert.equal(cut.checkpoint?.firstMissing, 3);
    assert.match(cut.checkpoint?.reason ?? '', /entries from seq 3 on are missing: the log was cut after seq 2; the signed checkpoint is at seq 4/);
  });

  it('refuses a checkpoint signed by a key the policy does not trust, and an edited one', async () => {
    await signHead('keys');
    await generateKeys(join(dir.path, 'other'));
    const other = [await loadPublicKey(join(dir.path, 'other', 'public.pem'))];
    const untrusted = await verifyAudit(dir.path, { trustedKeys: other });
    assert.equal(untrusted.ok, false);
    assert.match(untrusted.checkpoint?.reason ?? '', /signed by key [0-9a-f]{16}\.\.\., which the policy does not trust/);
    const trusted = [await loadPublicKey(join(dir.path, 'keys', 'public.pem'))];
    const path = checkpointPathFor(auditFile(dir.path));
    const cp = JSON.parse(await readFile(path, 'utf8')) as { seq: number };
    await writeFile(path, JSON.stringify({ ...cp, seq: 2 }));
    const edited = await verifyAudit(dir.path, { trustedKeys: trusted });
    assert.equal(edited.ok, false);
    assert.match(edited.checkpoint?.reason ?? '', /signature does not verify/);
  });

  it('a signed registration commits a checkpoint that `verifyAudit` checks against the policy keys', async () => {
    const repo = await makeRepo();
    try {
      await initRegistry(repo.root);
      const k = await generateKeys(join(repo.root, 'keys'));
      await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\nsignature:\n  trusted_keys: [keys/public.pem]\n');
      repo.git('add', 'keys/public.pem', '.sovereign/policy.yaml');
      repo.git('commit', '-q', '-m', 'policy');
      await addModel(repo.root, { input: await repo.write('../w.bin', weights()), name: 'm', version: '1.0.0', privateKey: k.privateKeyPath });
      assert.match(repo.git('show', '--name-only', '--format=', 'HEAD'), /\.sovereign\/audit\.checkpoint\.json/);
      const v = await verifyWorkspaceAudit(repo.root);
      assert.equal(v.ok, true, JSON.stringify(v));
      assert.equal(v.checkpoint?.ok, true);
      assert.equal(v.checkpoint?.seq, v.head?.seq);
      // An unsigned registration without a key leaves the last checkpoint as it was (still valid).
      await addModel(repo.root, { input: await repo.write('../w2.bin', weights()), name: 'n', version: '1.0.0' });
      assert.equal((await verifyWorkspaceAudit(repo.root)).ok, true);
    } finally {
      await repo.cleanup();
    }
  });
});
