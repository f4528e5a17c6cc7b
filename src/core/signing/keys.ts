import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ioError, UsageError } from '../util/errors';

/** A public key trusted to verify signatures, with the ids people and bundles use for it. */
export interface TrustedKey {
  key: KeyObject;
  /** sha256 of the DER SubjectPublicKeyInfo, hex: the id Sovereign shows, logs and revokes. */
  keyId: string;
  /** sha256 of the PEM text: the `verificationMaterial.publicKey.hint` the OMS reference writes and checks. */
  hint: string;
  /** Where the key came from (a file path), for messages. */
  source: string;
}

/** Key id: sha256 over the DER-encoded SubjectPublicKeyInfo. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** OMS bundle hint: sha256 over the PEM-encoded SubjectPublicKeyInfo (what model_signing compares). */
export function hintOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'pem' }) as string).digest('hex');
}

export function trustedKey(key: KeyObject, source: string): TrustedKey {
  return { key, keyId: keyIdOf(key), hint: hintOf(key), source };
}

function requireP256(key: KeyObject, path: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new UsageError(`${path}: not an EC P-256 key`, 'create one with `sovereign keygen --out DIR`');
  }
}

async function readKeyFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw ioError(err, path);
  }
}

/** Parses an EC P-256 private key (PEM, PKCS#8 or SEC1); `source` names it in errors. */
export function privateKeyFromPem(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new UsageError(`${source}: not a PEM private key`, 'pass the private.pem written by `sovereign keygen` (not the public key; encrypted keys must be decrypted first: openssl pkey -in KEY -out PLAIN.pem)');
  }
  requireP256(key, source);
  return key;
}

/** Loads an EC P-256 private key (PEM, PKCS#8 or SEC1). */
export async function loadPrivateKey(path: string): Promise<KeyObject> {
  return privateKeyFromPem(await readKeyFile(path), path);
}

/** A signing key as text: the private key (PKCS#8 PEM, for SecretStorage), its public key (SPKI PEM) and id. */
export interface KeyMaterial {
  privatePem: string;
  publicPem: string;
  keyId: string;
}

export function keyMaterialOf(privateKey: KeyObject): KeyMaterial {
  const publicKey = createPublicKey(privateKey);
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    keyId: keyIdOf(publicKey),
  };
}

/** A new EC P-256 signing key, in memory (the extension keeps the private half in SecretStorage). */
export function newKeyMaterial(): KeyMaterial {
  return keyMaterialOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
}

/** Loads an EC P-256 public key (PEM SubjectPublicKeyInfo; a private key file yields its public half). */
export async function loadPublicKey(path: string): Promise<TrustedKey> {
  const pem = await readKeyFile(path);
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new UsageError(`${path}: not a PEM public key`, 'pass the public.pem written by `sovereign keygen`');
  }
  requireP256(key, path);
  return trustedKey(key, path);
}

/**
 * Loads a keyring: each path is a public key file or a folder of them (`*.pem`, `*.pub`; private keys in
 * the folder are skipped). Several keys make rotation possible: old and new keys verify side by side.
 */
export async function loadKeyring(paths: readonly string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await lstat(p);
    } catch (err) {
      throw ioError(err, p);
    }
    if (st.isDirectory()) {
      for (const name of (await readdir(p)).sort()) {
        if (!/\.(pem|pub)$/i.test(name)) continue;
        const text = await readKeyFile(join(p, name));
        if (/PRIVATE KEY/.test(text)) continue;
        keys.push(await loadPublicKey(join(p, name)));
      }
    } else {
      keys.push(await loadPublicKey(p));
    }
  }
  const seen = new Set<string>();
  return keys.filter((k) => (seen.has(k.keyId) ? false : (seen.add(k.keyId), true)));
}

export interface GeneratedKeys {
  privateKeyPath: string;
  publicKeyPath: string;
  keyId: string;
}

/** Writes a new EC P-256 key pair: private.pem (mode 0600) and public.pem. Never overwrites. */
export async function generateKeys(outDir: string): Promise<GeneratedKeys> {
  const privateKeyPath = join(outDir, 'private.pem');
  const publicKeyPath = join(outDir, 'public.pem');
  for (const p of [privateKeyPath, publicKeyPath]) {
    if (await lstat(p).then(() => true, () => false)) throw new UsageError(`${p} already exists`, 'choose another --out folder; keys are never overwritten');
  }
  try {
    await mkdir(outDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError(err, outDir, 'create');
  }
  const material = newKeyMaterial();
  const write = async (path: string, text: string, mode: number): Promise<void> => {
    try {
      await writeFile(path, text, { mode, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${path} already exists`, 'choose another --out folder; keys are never overwritten');
      throw ioError(err, path, 'write');
    }
  };
  await write(privateKeyPath, material.privatePem, 0o600);
  await write(publicKeyPath, material.publicPem, 0o644);
  return { privateKeyPath, publicKeyPath, keyId: material.keyId };
}
