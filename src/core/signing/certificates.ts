import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ioError, UsageError } from '../util/errors';

/**
 * X.509 material for the OMS certificate flavour (model_signing's `sign certificate` / `verify certificate`):
 * the bundle carries the signing certificate and its chain (DER, leaf first) in
 * `verificationMaterial.x509CertificateChain`; the verifier trusts one or more CA certificates and checks
 * the path from the leaf to one of them.
 */

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text (a bundle of several is fine). */
export function parsePemCertificates(text: string, source: string): X509Certificate[] {
  const blocks = text.match(PEM_CERT) ?? [];
  if (!blocks.length) throw new UsageError(`${source}: no PEM certificate in it`, 'pass a PEM file with "-----BEGIN CERTIFICATE-----" blocks');
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch {
      throw new UsageError(`${source}: a certificate in it cannot be parsed`, 'pass PEM X.509 certificates (openssl x509 -outform PEM)');
    }
  });
}

/** Reads certificates from PEM files (each may hold several). */
export async function loadCertificates(paths: readonly string[]): Promise<X509Certificate[]> {
  const out: X509Certificate[] = [];
  for (const p of paths) {
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (err) {
      throw ioError(err, p);
    }
    out.push(...parsePemCertificates(text, p));
  }
  return out;
}

/**
 * The KeyUsage extension's digitalSignature bit (RFC 5280 4.2.1.3), read from the DER: Node's X509Certificate
 * exposes the extended key usages but not the key usage bits. undefined when the certificate has no KeyUsage.
 */
export function keyUsageDigitalSignature(cert: X509Certificate): boolean | undefined {
  const der = cert.raw;
  const oid = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x0f]);
  const at = der.indexOf(oid);
  if (at < 0) return undefined;
  let i = at + oid.length;
  if (der[i] === 0x01 && der[i + 1] === 0x01) i += 3; // critical BOOLEAN
  if (der[i] !== 0x04) return undefined; // OCTET STRING wrapping the BIT STRING
  i += 2;
  if (der[i] !== 0x03 || der[i + 1] < 2) return undefined;
  return (der[i + 3] & 0x80) !== 0;
}

const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

function validAt(cert: X509Certificate, when: number): boolean {
  return Date.parse(cert.validFrom) <= when && when <= Date.parse(cert.validTo);
}

function describe(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

/** Why a certificate chain was refused, for people. */
export class CertificateError extends Error {}

/**
 * Checks that `leaf` chains to one of `roots` through the `intermediates` the bundle carried: each link's
 * signature, each issuer a CA, every certificate valid at the leaf's notBefore (the signing time is not
 * recorded offline; model_signing checks at the same instant), and the leaf usable for signing (KeyUsage
 * digitalSignature or ExtendedKeyUsage codeSigning). Returns the path, leaf first, ending at the trusted root.
 */
export function verifyCertificatePath(leaf: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[]): X509Certificate[] {
  if (!roots.length) throw new CertificateError('the signature carries a certificate chain, but no CA certificate is trusted here (pass --ca CA.pem)');
  const when = Date.parse(leaf.validFrom);
  const usage = keyUsageDigitalSignature(leaf);
  const eku = leaf.keyUsage ?? [];
  if (usage !== true && !eku.includes(CODE_SIGNING)) {
    throw new CertificateError(`the signing certificate (${describe(leaf)}) is not allowed to sign: it needs KeyUsage digitalSignature or ExtendedKeyUsage codeSigning`);
  }
  const path = [leaf];
  let current = leaf;
  for (let depth = 0; depth < 10; depth++) {
    if (!validAt(current, when)) throw new CertificateError(`certificate ${describe(current)} is not valid at the signing certificate's start (${leaf.validFrom})`);
    const root = roots.find((r) => r.fingerprint256 === current.fingerprint256 || (current.checkIssued(r) && current.verify(r.publicKey)));
    if (root) {
      if (root !== current) {
        if (!root.ca) throw new CertificateError(`the trusted certificate ${describe(root)} is not a CA (basicConstraints CA:FALSE)`);
        if (!validAt(root, when)) throw new CertificateError(`the trusted CA ${describe(root)} is not valid at the signing certificate's start (${leaf.validFrom})`);
        path.push(root);
      }
      return path;
    }
    const next = intermediates.find((c) => c !== current && current.checkIssued(c) && current.verify(c.publicKey));
    if (!next) break;
    if (!next.ca) throw new CertificateError(`the issuing certificate ${describe(next)} is not a CA (basicConstraints CA:FALSE)`);
    path.push(next);
    current = next;
  }
  throw new CertificateError(`the signing certificate (${describe(leaf)}) does not chain to a trusted CA (${roots.length} trusted: ${roots.map(describe).join('; ')})`);
}
