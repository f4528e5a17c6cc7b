import { strict as assert } from 'node:assert';
import { createHash, createPublicKey, X509Certificate as NodeX509 } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertBundle, bundleFromJSON, isBundleWithCertificateChain, isBundleWithDsseEnvelope, isBundleWithPublicKey, ValidationError, type Bundle as SigstoreBundle } from '@sigstore/bundle';
import { X509Certificate as SigstoreX509 } from '@sigstore/core';
import { toSignedEntity, toTrustMaterial, Verifier, VerificationError, type KeyFinderFunc } from '@sigstore/verify';
// The chain check of @sigstore/verify, called directly: its Verifier only checks certificates against the
// time of a transparency-log entry or timestamp, and offline OMS bundles carry none.
import { verifyCertificateChain } from '@sigstore/verify/dist/key/certificate';
import { Bundle as ProtoBundle, type TrustedRoot } from '@sigstore/protobuf-specs';
import { generateKeys, loadPrivateKey, loadPublicKey } from '../../../src/core/signing/keys';
import { signModel, verifyModel } from '../../../src/core/signing/model';
import { loadCertificates } from '../../../src/core/signing/certificates';
import { signVersion } from '../../../src/core/registry/signature';
import type { Bundle, Statement } from '../../../src/core/signing/oms';
import { runMain } from '../registry/repo';
import { makeTestPki, type TestPki } from '../../helpers/pki';
import { tempDir } from '../../helpers/tmp';

/**
 * OMS interoperability checked by code this project did not write: every bundle `sovereign sign` writes is
 * parsed by @sigstore/bundle and verified by @sigstore/verify (the Sigstore project's JavaScript libraries),
 * and its statement is checked field by field against the OMS v1.0 format of sigstore/model-transparency.
 */

const EMPTY_ROOT: TrustedRoot = { mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] };
const OFFLINE = { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
const sha = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

/** A key finder in the Sigstore sense: the hint names the key (sha256 of its PEM, as model_signing writes). */
function finderFor(publicPem: string): KeyFinderFunc {
  const key = createPublicKey(publicPem);
  return (hint: string) => {
    if (hint !== sha(publicPem)) throw new Error(`no trusted key with hint ${hint}`);
    return { publicKey: key, validFor: () => true };
  };
}

/** A finder that hands out one key whatever the hint: the refusal then has to come from the signature. */
function anyHint(publicPem: string): KeyFinderFunc {
  const key = createPublicKey(publicPem);
  return () => ({ publicKey: key, validFor: () => true });
}

function sigstoreVerifyKeyed(bundleJson: unknown, finder: KeyFinderFunc): void {
  const bundle = bundleFromJSON(bundleJson);
  new Verifier(toTrustMaterial(EMPTY_ROOT, finder), OFFLINE).verify(toSignedEntity(bundle));
}

/**
 * Certificate bundles as model_signing writes them: mediaType v0.3 with `x509CertificateChain` (leaf first).
 * @sigstore/bundle's bundleFromJSON holds v0.3 bundles to a single `certificate`, so these are parsed by
 * the same protobuf reader and checked with its base validation (every other field as strict).
 */
function parseChainBundle(json: unknown): SigstoreBundle {
  assert.throws(() => bundleFromJSON(json), (e: unknown) => e instanceof ValidationError && (e.fields ?? []).join() === 'verificationMaterial.content.$case');
  const bundle = ProtoBundle.fromJSON(json) as SigstoreBundle;
  assertBundle(bundle);
  return bundle;
}

function statementOf(bundle: Bundle): Statement {
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
}

/** Field-by-field check of the in-toto statement against OMS v1.0 (model_signing's `files` serialization). */
function assertOmsStatement(statement: Statement, expected: { subject: string; resources: Record<string, Buffer>; ignorePaths: string[] }): void {
  assert.deepEqual(Object.keys(statement).sort(), ['_type', 'predicate', 'predicateType', 'subject']);
  assert.equal(statement._type, 'https://in-toto.io/Statement/v1');
  assert.equal(statement.predicateType, 'https://model_signing/signature/v1.0');
  assert.deepEqual(Object.keys(statement.predicate).sort(), ['resources', 'serialization'], 'v1.0 predicates carry serialization and resources only');
  assert.deepEqual(statement.predicate.serialization, { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: expected.ignorePaths });
  const names = Object.keys(expected.resources);
  // Resource descriptors: one per file, {name, algorithm, digest}, ordered like Python's sorted() over paths.
  assert.deepEqual(statement.predicate.resources.map((r) => r.name), names);
  for (const r of statement.predicate.resources) {
    assert.deepEqual(Object.keys(r).sort(), ['algorithm', 'digest', 'name']);
    assert.equal(r.algorithm, 'sha256');
    assert.equal(r.digest, sha(expected.resources[r.name]), `digest of ${r.name}`);
  }
  // Subject: exactly one, named after the model, sha256 over the binary resource digests in order.
  assert.equal(statement.subject.length, 1);
  assert.equal(statement.subject[0].name, expected.subject);
  assert.deepEqual(Object.keys(statement.subject[0].digest), ['sha256']);
  assert.equal(statement.subject[0].digest.sha256, sha(Buffer.concat(names.map((n) => createHash('sha256').update(expected.resources[n]).digest()))));
}

describe('OMS bundles verified by the Sigstore libraries (@sigstore/bundle, @sigstore/verify)', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let model: string;
  let single: string;
  let keysA: Awaited<ReturnType<typeof generateKeys>>;
  let keysB: Awaited<ReturnType<typeof generateKeys>>;
  let pemA: string;
  let pemB: string;
  let pki: TestPki;
  const files: Record<string, Buffer> = {
    'config.json': Buffer.from('{"layers": 2}\n'),
    'tokenizer/vocab.txt': Buffer.from('a\nb\n'),
    'weights.bin': Buffer.alloc(4096, 9),
  };

  before(async () => {
    dir = await tempDir('sovereign-sigstore-');
    model = join(dir.path, 'tiny-model');
    for (const [name, bytes] of Object.entries(files)) {
      await mkdir(join(model, name, '..'), { recursive: true });
      await writeFile(join(model, name), bytes);
    }
    await writeFile(join(model, '.gitignore'), '*.tmp\n');
    single = join(dir.path, 'single.gguf');
    await writeFile(single, Buffer.alloc(1000, 1));
    keysA = await generateKeys(join(dir.path, 'a'));
    keysB = await generateKeys(join(dir.path, 'b'));
    pemA = await readFile(keysA.publicKeyPath, 'utf8');
    pemB = await readFile(keysB.publicKeyPath, 'utf8');
    await mkdir(join(dir.path, 'pki'));
    pki = makeTestPki(join(dir.path, 'pki'));
  });
  after(() => dir.cleanup());

  it('a signed folder: the bundle parses as a Sigstore v0.3 DSSE bundle with a public key hint, and its statement is OMS v1.0 field by field', async () => {
    const { signaturePath } = await signModel(model, keysA.privateKeyPath);
    const json = JSON.parse(await readFile(signaturePath, 'utf8')) as Bundle;
    const parsed: SigstoreBundle = bundleFromJSON(json);
    assert.equal(parsed.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.ok(isBundleWithDsseEnvelope(parsed));
    assert.ok(isBundleWithPublicKey(parsed));
    assert.equal(parsed.verificationMaterial.content.publicKey.hint, sha(pemA));
    assert.equal(parsed.content.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
    assertOmsStatement(statementOf(json), { subject: 'tiny-model', resources: files, ignorePaths: ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig'] });
  });

  it('keyed: accepted by @sigstore/verify with the right public key, refused with another', async () => {
    const { signaturePath } = await signModel(model, keysA.privateKeyPath);
    const json = JSON.parse(await readFile(signaturePath, 'utf8')) as unknown;
    sigstoreVerifyKeyed(json, finderFor(pemA));
    assert.throws(() => sigstoreVerifyKeyed(json, finderFor(pemB)), /no trusted key with hint/);
    assert.throws(() => sigstoreVerifyKeyed(json, anyHint(pemB)), (e: unknown) => e instanceof VerificationError && e.code === 'SIGNATURE_ERROR');
  });

  it('keyed: refused by @sigstore/verify (and by Sovereign) after the statement is tampered with', async () => {
    const { signaturePath } = await signModel(model, keysA.privateKeyPath);
    const json = JSON.parse(await readFile(signaturePath, 'utf8')) as Bundle;
    const statement = statementOf(json);
    statement.predicate.resources[2].digest = sha('other weights');
    const tampered: Bundle = { ...json, dsseEnvelope: { ...json.dsseEnvelope, payload: Buffer.from(JSON.stringify(statement)).toString('base64') } };
    assert.throws(() => sigstoreVerifyKeyed(tampered, finderFor(pemA)), (e: unknown) => e instanceof VerificationError && e.code === 'SIGNATURE_ERROR');
    await writeFile(signaturePath, JSON.stringify(tampered));
    const ours = await verifyModel(model, { keys: [await loadPublicKey(keysA.publicKeyPath)] });
    assert.equal(ours.valid, false);
    assert.equal(ours.failure, 'bad-signature');
  });

  it('a single file and a registry version signature are Sigstore-verifiable too', async () => {
    const { signaturePath } = await signModel(single, keysA.privateKeyPath);
    const json = JSON.parse(await readFile(signaturePath, 'utf8')) as Bundle;
    sigstoreVerifyKeyed(json, finderFor(pemA));
    assertOmsStatement(statementOf(json), { subject: 'single.gguf', resources: { '.': Buffer.alloc(1000, 1) }, ignorePaths: ['.git', '.gitattributes', '.github', '.gitignore'] });

    const manifest = { schema_version: 1, name: 'tiny', version: '1.0.0', artifacts: [{ path: 'tiny.gguf', sha256: sha(Buffer.alloc(1000, 1)), size: 1000 }] };
    const registryBundle = signVersion(manifest as never, '.sovereign/models/tiny/1.0.0.yaml', 'name: tiny\n', await loadPrivateKey(keysA.privateKeyPath));
    sigstoreVerifyKeyed(JSON.parse(JSON.stringify(registryBundle)), finderFor(pemA));
    assert.throws(() => sigstoreVerifyKeyed(JSON.parse(JSON.stringify(registryBundle)), anyHint(pemB)), /signature verification failed/);
  });

  describe('certificate flavour (a private CA made with openssl)', () => {
    let certBundlePath: string;

    before(async () => {
      await rm(join(model, 'model.sig'), { force: true });
      const r = await runMain(['sign', model, '--key', pki.leaf.key, '--cert', pki.leaf.cert, '--cert-chain', pki.intermediate.cert, '--output', join(dir.path, 'cert.sig'), '--json'], dir.path);
      assert.equal(r.code, 0, r.stderr);
      certBundlePath = join(dir.path, 'cert.sig');
    });

    it('the bundle carries the signing certificate and its chain (leaf first) and no key hint', async () => {
      const json = JSON.parse(await readFile(certBundlePath, 'utf8')) as Bundle;
      const parsed = parseChainBundle(json);
      assert.ok(isBundleWithCertificateChain(parsed));
      const certs = parsed.verificationMaterial.content.x509CertificateChain.certificates;
      assert.equal(certs.length, 2);
      const leaf = SigstoreX509.parse(Buffer.from(certs[0].rawBytes));
      assert.match(leaf.subject.toString(), /model-signer/);
      assert.equal(json.verificationMaterial.publicKey, undefined);
      assertOmsStatement(statementOf(json), { subject: 'tiny-model', resources: files, ignorePaths: ['.git', '.gitattributes', '.github', '.gitignore'] });
    });

    it('@sigstore/verify checks the chain to the private CA and the DSSE signature with the certificate key; another CA is refused', async () => {
      const json = JSON.parse(await readFile(certBundlePath, 'utf8')) as unknown;
      const bundle = parseChainBundle(json);
      const entity = toSignedEntity(bundle);
      assert.equal(entity.key.$case, 'certificate');
      const leaf = entity.key.$case === 'certificate' ? entity.key.certificate : undefined;
      const ca = (files: string[]) => ({
        certChain: files.map((f) => SigstoreX509.parse(new NodeX509(readFileSync(f)).raw)),
        validFor: { start: new Date(0), end: new Date(8.64e15) },
      });
      const path = verifyCertificateChain(leaf!.notBefore, leaf!, [ca([pki.intermediate.cert, pki.root.cert])]);
      assert.equal(path.length, 3);
      assert.ok(entity.signature.verifySignature(createPublicKey({ key: leaf!.publicKey, format: 'der', type: 'spki' })));
      assert.throws(() => verifyCertificateChain(leaf!.notBefore, leaf!, [ca([pki.otherRoot.cert])]), /Failed to verify certificate chain/);
      const tampered = JSON.parse(JSON.stringify(json)) as Bundle;
      const st = statementOf(tampered);
      st.subject[0].name = 'another-model';
      tampered.dsseEnvelope.payload = Buffer.from(JSON.stringify(st)).toString('base64');
      assert.equal(toSignedEntity(parseChainBundle(tampered)).signature.verifySignature(createPublicKey({ key: leaf!.publicKey, format: 'der', type: 'spki' })), false);
    });

    it('sovereign verify --ca: valid against the root CA, naming the certificate; refused under another CA, exit 1', async () => {
      const ok = await runMain(['verify', model, '--ca', pki.root.cert, '--signature', certBundlePath, '--json'], dir.path);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const result = JSON.parse(ok.stdout) as { valid: boolean; keySource: string; keyId: string };
      assert.equal(result.valid, true);
      assert.match(result.keySource, /certificate "CN=model-signer" issued under CA "CN=Test Root CA"/);
      const other = await runMain(['verify', model, '--ca', pki.otherRoot.cert, '--signature', certBundlePath], dir.path);
      assert.equal(other.code, 1);
      assert.match(other.stdout, /INVALID: untrusted certificate: the signing certificate \(CN=model-signer\) does not chain to a trusted CA/);
      const keyOnly = await runMain(['verify', model, '--key', keysA.publicKeyPath, '--signature', certBundlePath], dir.path);
      assert.equal(keyOnly.code, 1);
      assert.match(keyOnly.stdout, /no CA certificate is trusted here \(pass --ca CA\.pem\)/);
    });

    it('refuses a chain that lacks its intermediate, a certificate that may not sign, and a certificate of another key', async () => {
      const noChain = join(dir.path, 'nochain.sig');
      assert.equal((await runMain(['sign', model, '--key', pki.leaf.key, '--cert', pki.leaf.cert, '--output', noChain], dir.path)).code, 0);
      const r1 = await verifyModel(model, { keys: [], roots: await loadCertificates([pki.root.cert]), signaturePath: noChain });
      assert.equal(r1.failure, 'untrusted-certificate', r1.reason);
      // Trusting the intermediate itself is enough.
      const r2 = await verifyModel(model, { keys: [], roots: await loadCertificates([pki.intermediate.cert]), signaturePath: noChain });
      assert.equal(r2.valid, true, r2.reason);

      const noSign = join(dir.path, 'nosign.sig');
      assert.equal((await runMain(['sign', model, '--key', pki.noSign.key, '--cert', pki.noSign.cert, '--cert-chain', pki.intermediate.cert, '--output', noSign], dir.path)).code, 0);
      const r3 = await verifyModel(model, { keys: [], roots: await loadCertificates([pki.root.cert]), signaturePath: noSign });
      assert.equal(r3.failure, 'untrusted-certificate');
      assert.match(r3.reason!, /not allowed to sign: it needs KeyUsage digitalSignature or ExtendedKeyUsage codeSigning/);

      const mismatch = await runMain(['sign', model, '--key', keysA.privateKeyPath, '--cert', pki.leaf.cert], dir.path);
      assert.equal(mismatch.code, 2);
      assert.match(mismatch.stderr, /its public key is not the signing key's/);
    });
  });
});
