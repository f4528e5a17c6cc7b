import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One certificate the test CA issued: PEM files on disk. */
export interface IssuedCert {
  key: string;
  cert: string;
}

export interface TestPki {
  root: IssuedCert;
  intermediate: IssuedCert;
  /** Signing certificate (KeyUsage digitalSignature, ExtendedKeyUsage codeSigning) under the intermediate. */
  leaf: IssuedCert;
  /** A certificate for a key that may not sign (KeyUsage keyEncipherment only). */
  noSign: IssuedCert;
  /** Another, unrelated CA and a signing certificate it issued. */
  otherRoot: IssuedCert;
  otherLeaf: IssuedCert;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function ecKey(dir: string, name: string): string {
  const key = join(dir, `${name}.key.pem`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], dir);
  return key;
}

function issue(dir: string, name: string, issuer: IssuedCert | undefined, ext: string): IssuedCert {
  const key = ecKey(dir, name);
  const cert = join(dir, `${name}.cert.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `[v3]\n${ext}\n`);
  if (!issuer) {
    openssl(['req', '-new', '-x509', '-key', key, '-subj', `/CN=${name}`, '-days', '30', '-sha256', '-extensions', 'v3', '-config', extFileWithReq(dir, name, ext), '-out', cert], dir);
  } else {
    const csr = join(dir, `${name}.csr`);
    openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr], dir);
    openssl(['x509', '-req', '-in', csr, '-CA', issuer.cert, '-CAkey', issuer.key, '-CAcreateserial', '-days', '30', '-sha256', '-extfile', extFile, '-extensions', 'v3', '-out', cert], dir);
  }
  return { key, cert };
}

function extFileWithReq(dir: string, name: string, ext: string): string {
  const file = join(dir, `${name}.req.cnf`);
  writeFileSync(file, `[req]\ndistinguished_name = dn\n[dn]\n[v3]\n${ext}\n`);
  return file;
}

const CA_EXT = 'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash';
const LEAF_EXT = 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = codeSigning\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid';

/** A private CA made with the machine's openssl: root -> intermediate -> signing certificate, and decoys. */
export function makeTestPki(dir: string): TestPki {
  const root = issue(dir, 'Test Root CA', undefined, CA_EXT);
  const intermediate = issue(dir, 'Test Intermediate CA', root, `${CA_EXT}\nauthorityKeyIdentifier = keyid`);
  const leaf = issue(dir, 'model-signer', intermediate, LEAF_EXT);
  const noSign = issue(dir, 'not-a-signer', intermediate, 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, keyEncipherment');
  const otherRoot = issue(dir, 'Other Root CA', undefined, CA_EXT);
  const otherLeaf = issue(dir, 'other-signer', otherRoot, LEAF_EXT);
  return { root, intermediate, leaf, noSign, otherRoot, otherLeaf };
}
