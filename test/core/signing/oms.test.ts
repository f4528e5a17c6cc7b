import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeys, loadKeyring, loadPrivateKey, loadPublicKey } from '../../../src/core/signing/keys';
import { signModel, verifyModel } from '../../../src/core/signing/model';
import { buildStatement, compareResourceNames, PREDICATE_TYPE, signStatement, subjectDigest, type Bundle, type Serialization, type Statement } from '../../../src/core/signing/oms';
import { tempDir } from '../../helpers/tmp';

const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

describe('OMS model signing (keyed, EC P-256)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let model: string;
  let keysA: Awaited<ReturnType<typeof generateKeys>>;
  let keysB: Awaited<ReturnType<typeof generateKeys>>;

  beforeEach(async () => {
    dir = await tempDir('sovereign-sign-');
    model = join(dir.path, 'tiny-model');
    await mkdir(join(model, 'tokenizer'), { recursive: true });
    await mkdir(join(model, '.git'), { recursive: true });
    await writeFile(join(model, 'weights.bin'), Buffer.alloc(5000, 7));
    await writeFile(join(model, 'config.json'), '{"layers": 2}\n');
    await writeFile(join(model, 'tokenizer', 'vocab.txt'), 'a\nb\n');
    await writeFile(join(model, '.git', 'HEAD'), 'ignored\n');
    await writeFile(join(model, '.gitattributes'), '*.bin filter=lfs\n');
    keysA = await generateKeys(join(dir.path, 'keys-a'));
    keysB = await generateKeys(join(dir.path, 'keys-b'));
  });
  afterEach(() => dir.cleanup());

  it('writes a Sigstore bundle with a DSSE in-toto statement in the OMS v1.0 shape', async () => {
    const result = await signModel(model, keysA.privateKeyPath);
    assert.equal(result.signaturePath, join(model, 'model.sig'));
    const bundle = JSON.parse(await readFile(result.signaturePath, 'utf8')) as Bundle;
    assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.equal(bundle.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
    assert.equal(bundle.dsseEnvelope.signatures[0].keyid, keysA.keyId);
    const pem = await readFile(keysA.publicKeyPath, 'utf8');
    assert.equal(bundle.verificationMaterial.publicKey?.hint, sha(pem), 'hint = sha256 of the PEM public key, as model_signing computes it');
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
    assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
    assert.equal(statement.predicateType, PREDICATE_TYPE);
    assert.deepEqual(statement.predicate.serialization, { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig'] });
    const names = statement.predicate.resources.map((r) => r.name);
    assert.deepEqual(names, ['config.json', 'tokenizer/vocab.txt', 'weights.bin']);
    assert.equal(statement.predicate.resources[2].digest, sha(Buffer.alloc(5000, 7)));
    // Subject: the folder name and sha256 over the binary digests concatenated in resource order.
    const expected = sha(Buffer.concat(statement.predicate.resources.map((r) => Buffer.from(r.digest, 'hex'))));
    assert.deepEqual(statement.subject, [{ name: 'tiny-model', digest: { sha256: expected } }]);
  });

  it('orders resources like Python sorted() over PurePosixPath (component-wise)', () => {
    const names = ['a.txt', 'a/b', 'B', 'a', 'a/a/z'];
    assert.deepEqual([...names].sort(compareResourceNames), ['B', 'a', 'a/a/z', 'a/b', 'a.txt']);
    assert.equal(subjectDigest([{ name: 'x', digest: '00'.repeat(32) }]), sha(Buffer.alloc(32)));
  });

  it('verifies, and names the key that signed', async () => {
    await signModel(model, keysA.privateKeyPath);
    const keys = await loadKeyring([keysA.publicKeyPath]);
    const r = await verifyModel(model, { keys });
    assert.equal(r.valid, true, r.reason);
    assert.equal(r.keyId, keysA.keyId);
    assert.equal(r.resources, 3);
  });

  it('fails naming the file when one byte of it changes', async () => {
    await signModel(model, keysA.privateKeyPath);
    const file = join(model, 'tokenizer', 'vocab.txt');
    const bytes = await readFile(file);
    bytes[0] ^= 0x01;
    await writeFile(file, bytes);
    const r = await verifyModel(model, { keys: [await loadPublicKey(keysA.publicKeyPath)] });
    assert.equal(r.valid, false);
    assert.equal(r.failure, 'changed');
    assert.deepEqual(r.changed, ['tokenizer/vocab.txt']);
    assert.match(r.reason!, /changed: tokenizer\/vocab\.txt/);
  });

  it('reports added and missing files; ignored paths do not count', async () => {
    await signModel(model, keysA.privateKeyPath);
    await writeFile(join(model, 'extra.bin'), 'new');
    await rm(join(model, 'config.json'));
    await writeFile(join(model, '.git', 'HEAD'), 'changed but ignored\n');
    const r = await verifyModel(model, { keys: [await loadPublicKey(keysA.publicKeyPath)] });
    assert.equal(r.valid, false);
    assert.deepEqual(r.added, ['extra.bin']);
    assert.deepEqual(r.missing, ['config.json']);
  });

  it('refuses a signature by a key that is not trusted (wrong key)', async () => {
    await signModel(model, keysA.privateKeyPath);
    const r = await verifyModel(model, { keys: [await loadPublicKey(keysB.publicKeyPath)] });
    assert.equal(r.valid, false);
    assert.equal(r.failure, 'unknown-key');
    assert.match(r.reason!, /wrong key/);
  });

  it('detects an altered payload (bad signature)', async () => {
    const { signaturePath } = await signModel(model, keysA.privateKeyPath);
    const bundle = JSON.parse(await readFile(signaturePath, 'utf8')) as Bundle;
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString()) as Statement;
    statement.predicate.resources[0].digest = '0'.repeat(64);
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    await writeFile(signaturePath, JSON.stringify(bundle));
    const r = await verifyModel(model, { keys: [await loadPublicKey(keysA.publicKeyPath)] });
    assert.equal(r.valid, false);
    assert.equal(r.failure, 'bad-signature');
  });

  it('rotation: a keyring folder trusts several keys and says which one signed; revoked keys are refused', async () => {
    const ring = join(dir.path, 'ring');
    await mkdir(ring);
    await writeFile(join(ring, 'old.pem'), await readFile(keysA.publicKeyPath));
    await writeFile(join(ring, 'new.pem'), await readFile(keysB.publicKeyPath));
    await writeFile(join(ring, 'secret.pem'), await readFile(keysB.privateKeyPath)); // skipped: private keys are not trust anchors
    const keys = await loadKeyring([ring]);
    assert.equal(keys.length, 2);
    await signModel(model, keysB.privateKeyPath);
    const r = await verifyModel(model, { keys });
    assert.equal(r.valid, true, r.reason);
    assert.equal(r.keyId, keysB.keyId);
    assert.equal(r.keySource, join(ring, 'new.pem'));
    const revoked = await verifyModel(model, { keys, revoked: new Map([[keysB.keyId, 'laptop lost']]) });
    assert.equal(revoked.valid, false);
    assert.equal(revoked.failure, 'revoked');
    assert.match(revoked.reason!, /revoked key .*laptop lost/);
  });

  it('signs a single file as FILE.sig beside it, and refuses symbolic links', async () => {
    const file = join(model, 'weights.bin');
    const r = await signModel(file, keysA.privateKeyPath);
    assert.equal(r.signaturePath, `${file}.sig`);
    assert.deepEqual(r.resources.map((x) => x.name), ['.']);
    const keys = [await loadPublicKey(keysA.publicKeyPath)];
    assert.equal((await verifyModel(file, { keys })).valid, true);
    await writeFile(file, Buffer.alloc(5000, 8));
    const bad = await verifyModel(file, { keys });
    assert.deepEqual(bad.changed, ['weights.bin']);
    const { symlink } = await import('node:fs/promises');
    await symlink(join(model, 'config.json'), join(model, 'link.json'));
    await assert.rejects(signModel(model, keysA.privateKeyPath), /symbolic link/);
  });

  it('an independent implementation (Python cryptography, when installed) accepts the bundle', async function () {
    const { spawnSync } = await import('node:child_process');
    if (spawnSync('python3', ['-c', 'import cryptography'], { stdio: 'ignore' }).status !== 0) this.skip();
    await signModel(model, keysA.privateKeyPath);
    const script = [
      'import json, base64, hashlib, os, sys',
      'from cryptography.hazmat.primitives import serialization, hashes',
      'from cryptography.hazmat.primitives.asymmetric import ec',
      'model, pub = sys.argv[1], sys.argv[2]',
      "b = json.load(open(os.path.join(model, 'model.sig')))",
      "key = serialization.load_pem_public_key(open(pub, 'rb').read())",
      'pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)',
      "assert b['verificationMaterial']['publicKey']['hint'] == hashlib.sha256(pem).hexdigest()",
      "env = b['dsseEnvelope']; payload = base64.b64decode(env['payload']); pt = env['payloadType']",
      "key.verify(base64.b64decode(env['signatures'][0]['sig']), f'DSSEv1 {len(pt)} {pt} {len(payload)} '.encode() + payload, ec.ECDSA(hashes.SHA256()))",
      "st = json.loads(payload); h = hashlib.sha256()",
      "for r in st['predicate']['resources']: h.update(bytes.fromhex(r['digest']))",
      "assert st['subject'][0]['digest']['sha256'] == h.hexdigest()",
      "print('ok')",
    ].join('\n');
    const r = spawnSync('python3', ['-c', script, model, keysA.publicKeyPath], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), 'ok', r.stderr);
  });

  it('keygen never overwrites keys', async () => {
    await assert.rejects(generateKeys(join(dir.path, 'keys-a')), /already exists/);
  });

  it('refuses OMS statements it cannot check exactly (other serializations, hash types, paths outside the model), naming the field', async () => {
    const key = await loadPrivateKey(keysA.privateKeyPath);
    const pub = await loadPublicKey(keysA.publicKeyPath);
    const files: Serialization = { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [] };
    const res = [{ name: 'config.json', digest: sha('{"layers": 2}\n') }];
    const cases: { statement: Statement; failure: string; reason: RegExp }[] = [
      { statement: buildStatement('m', res, { ...files, method: 'shards' as never }), failure: 'unsupported', reason: /unsupported OMS serialization method "shards"/ },
      { statement: buildStatement('m', res, { ...files, hash_type: 'blake2' as never }), failure: 'unsupported', reason: /unsupported OMS hash_type "blake2"/ },
      { statement: buildStatement('m', [{ name: '../outside.bin', digest: sha('x') }], files), failure: 'malformed', reason: /not a relative POSIX path inside the model/ },
      { statement: buildStatement('m', [{ name: 'w.bin', digest: 'ABC' }], files), failure: 'malformed', reason: /digest is not 64 lowercase hex digits/ },
    ];
    const other = { ...buildStatement('m', res, files) };
    other.predicate = { ...other.predicate, resources: other.predicate.resources.map((r) => ({ ...r, algorithm: 'blake2b' })) };
    cases.push({ statement: other, failure: 'unsupported', reason: /unsupported digest algorithm "blake2b"/ });
    for (const c of cases) {
      const sigPath = join(dir.path, 'crafted.sig');
      await writeFile(sigPath, JSON.stringify(signStatement(c.statement, key)));
      const r = await verifyModel(model, { keys: [pub], signaturePath: sigPath });
      assert.equal(r.valid, false);
      assert.equal(r.failure, c.failure, r.reason);
      assert.match(r.reason!, c.reason);
    }
  });
});
