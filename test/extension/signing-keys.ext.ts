import { strict as assert } from 'node:assert';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import { writeMlpClassifier } from '../fixtures/onnx';
import { activatedExtension, executeDismissingNotifications, waitFor, workbenchApi } from './support/vscode';

interface KeyResult {
  keyId: string;
  publicKeyFile?: string;
  previousKeyId?: string;
  revokedPrevious?: boolean;
}

interface Verification {
  ok: boolean;
  signature: { status: string; failure?: string; reason?: string; keyId?: string };
}

interface ApiShape {
  registry: { refresh(): Promise<{ versions: { name: string; version: string }[] } | undefined> };
}

const keyIdOfPem = (pem: string): string => createHash('sha256').update(createPublicKey(pem).export({ type: 'spki', format: 'der' })).digest('hex');

/**
 * Signing keys through the palette commands in the real extension host: generated or imported into
 * SecretStorage, the public key exported, rotation (old and new keys trusted side by side) and revocation
 * (a version signed with a revoked key is refused, naming the key and the reason).
 */
describe('Sovereign: signing keys in SecretStorage (generate, import, export, rotate, revoke)', () => {
  let dir: string;
  let root: string;
  let policyBefore: string | undefined;
  let keysBefore: Set<string>;
  const policyFile = (): string => join(root, '.sovereign', 'policy.yaml');
  const policy = async (): Promise<{ signature?: { trusted_keys?: string[]; revoked_keys?: { key_id: string; reason?: string }[] } }> =>
    parse(await readFile(policyFile(), 'utf8')) as { signature?: { trusted_keys?: string[]; revoked_keys?: { key_id: string; reason?: string }[] } };

  before(async function () {
    this.timeout(120_000);
    await activatedExtension();
    dir = await mkdtemp(join(tmpdir(), 'sovereign-ext-keys-'));
    root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    policyBefore = await readFile(policyFile(), 'utf8').catch(() => undefined);
    keysBefore = new Set(await readdir(join(root, '.sovereign', 'keys')).catch(() => [] as string[]));
    const model = join(dir, 'ext-keys.onnx');
    await writeMlpClassifier(model, { seed: 11 });
    await executeDismissingNotifications('sovereign.registerModel', vscode.Uri.file(model), { name: 'ext-keys', version: '1.0.0', license: 'MIT', source: 'https://example.invalid/ext-keys' });
    const api = await workbenchApi<ApiShape>();
    await waitFor(async () => ((await api.registry.refresh())?.versions.some((v) => v.name === 'ext-keys') ? true : undefined), 'ext-keys@1.0.0 in the registry snapshot');
  });

  after(async () => {
    // Leave the shared workspace's policy and key folder as the suites before this one left them.
    if (policyBefore === undefined) await rm(policyFile(), { force: true });
    else await writeFile(policyFile(), policyBefore);
    for (const f of await readdir(join(root, '.sovereign', 'keys')).catch(() => [] as string[])) {
      if (!keysBefore.has(f)) await rm(join(root, '.sovereign', 'keys', f), { force: true });
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('Generate Signing Key stores the key in SecretStorage and trusts its public key in the policy; Export Public Key writes it', async () => {
    const gen = await executeDismissingNotifications<KeyResult | undefined>('sovereign.generateSigningKey', { replace: true });
    assert.ok(gen?.keyId && /^[0-9a-f]{64}$/.test(gen.keyId), JSON.stringify(gen));
    assert.equal(gen.publicKeyFile, `.sovereign/keys/${gen.keyId.slice(0, 16)}.pub.pem`);
    assert.ok((await policy()).signature?.trusted_keys?.includes(gen.publicKeyFile));
    const out = join(dir, 'exported.pub.pem');
    const exported = await executeDismissingNotifications<KeyResult | undefined>('sovereign.exportPublicKey', vscode.Uri.file(out));
    assert.equal(exported?.keyId, gen.keyId, 'the key in SecretStorage is the one generated');
    const pem = await readFile(out, 'utf8');
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----/);
    assert.doesNotMatch(pem, /PRIVATE/);
    assert.equal(keyIdOfPem(pem), gen.keyId);
  });

  it('rotation keeps old signatures valid unless the old key is revoked; a revoked key is refused by Verify Model, naming the key and the reason', async function () {
    this.timeout(120_000);
    const current = await executeDismissingNotifications<KeyResult | undefined>('sovereign.exportPublicKey', vscode.Uri.file(join(dir, 'current.pub.pem')));
    await executeDismissingNotifications('sovereign.signModel', 'ext-keys@1.0.0');
    const signed = await executeDismissingNotifications<Verification | undefined>('sovereign.verifyModel', 'ext-keys@1.0.0');
    assert.equal(signed?.ok, true, JSON.stringify(signed));
    assert.equal(signed.signature.keyId, current?.keyId);

    // Rotate, keeping the old key trusted: the version stays valid.
    const kept = await executeDismissingNotifications<KeyResult | undefined>('sovereign.rotateSigningKey', { revokeOld: false });
    assert.ok(kept, 'the rotation returned its result');
    assert.equal(kept.previousKeyId, current?.keyId);
    assert.notEqual(kept.keyId, current?.keyId);
    assert.equal((await executeDismissingNotifications<Verification | undefined>('sovereign.verifyModel', 'ext-keys@1.0.0'))?.ok, true);

    // Revoke the key that signed it: Verify Model refuses it and says which key and why.
    const revoked = await executeDismissingNotifications<KeyResult | undefined>('sovereign.revokeKey', current!.keyId, 'ext test: the key leaked');
    assert.equal(revoked?.keyId, current?.keyId);
    assert.ok((await policy()).signature?.revoked_keys?.some((r) => r.key_id === current!.keyId && r.reason === 'ext test: the key leaked'));
    const refused = await executeDismissingNotifications<Verification | undefined>('sovereign.verifyModel', 'ext-keys@1.0.0');
    assert.equal(refused?.ok, false);
    assert.equal(refused.signature.failure, 'revoked');
    assert.match(refused.signature.reason ?? '', new RegExp(`signed by revoked key ${current!.keyId} .*ext test: the key leaked`));

    // Re-signing with the current (rotated) key makes it valid again.
    await executeDismissingNotifications('sovereign.signModel', 'ext-keys@1.0.0');
    const resigned = await executeDismissingNotifications<Verification | undefined>('sovereign.verifyModel', 'ext-keys@1.0.0');
    assert.equal(resigned?.ok, true, JSON.stringify(resigned));
    assert.equal(resigned.signature.keyId, kept.keyId);

    // Rotating with revocation of the old key in one step.
    const compromised = await executeDismissingNotifications<KeyResult | undefined>('sovereign.rotateSigningKey', { revokeOld: 'ext test: laptop lost' });
    assert.equal(compromised?.previousKeyId, kept.keyId);
    assert.equal(compromised.revokedPrevious, true);
    const again = await executeDismissingNotifications<Verification | undefined>('sovereign.verifyModel', 'ext-keys@1.0.0');
    assert.equal(again?.signature.failure, 'revoked');
    assert.match(again.signature.reason ?? '', new RegExp(`${kept.keyId}.*laptop lost`));
  });

  it('Import Signing Key takes an EC P-256 PEM into SecretStorage and refuses anything else', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const file = join(dir, 'imported.pem');
    await writeFile(file, privateKey.export({ type: 'sec1', format: 'pem' }) as string);
    const imported = await executeDismissingNotifications<KeyResult | undefined>('sovereign.importSigningKey', vscode.Uri.file(file));
    assert.equal(imported?.keyId, keyIdOfPem(createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }) as string));
    assert.equal((await executeDismissingNotifications<KeyResult | undefined>('sovereign.exportPublicKey', vscode.Uri.file(join(dir, 'imp.pub.pem'))))?.keyId, imported.keyId);

    const rsa = join(dir, 'rsa.pem');
    await writeFile(rsa, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    assert.equal(await executeDismissingNotifications('sovereign.importSigningKey', vscode.Uri.file(rsa)), undefined, 'an RSA key is refused');
    assert.equal((await executeDismissingNotifications<KeyResult | undefined>('sovereign.exportPublicKey', vscode.Uri.file(join(dir, 'still.pub.pem'))))?.keyId, imported.keyId, 'the stored key is unchanged');
  });
});
