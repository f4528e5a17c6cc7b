import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isMap, isSeq, parseDocument, stringify, YAMLMap, YAMLSeq, type Document } from 'yaml';
import { ioError, UsageError } from '../util/errors';
import { writeAtomic } from '../workspace/atomic-write';
import { DEFAULT_POLICY } from './load';

/**
 * Edits of the `signature:` section of policy.yaml (trusted and revoked keys), with the yaml Document API
 * so comments and order survive. Each returns false when the policy already said so (nothing written).
 */

async function editPolicy(file: string, edit: (signature: YAMLMap, doc: Document) => boolean): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, file);
    // No policy yet: start from the rules that applied without one (DEFAULT_POLICY), so adding a key
    // changes nothing else.
    text = `# Sovereign policy (docs/policy.md). Written when a signing key was trusted or revoked: the defaults, plus the keys.\n${stringify(DEFAULT_POLICY)}`;
  }
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UsageError(`${file} does not parse: ${doc.errors[0].message}`, 'fix the YAML first; nothing was written');
  if (!isMap(doc.contents)) throw new UsageError(`${file} is not a YAML mapping`, 'the policy is a mapping with version: 1 at the top');
  let signature = doc.get('signature');
  if (!isMap(signature)) {
    signature = new YAMLMap();
    doc.set('signature', signature);
  }
  if (!edit(signature as YAMLMap, doc)) return false;
  await mkdir(dirname(file), { recursive: true });
  await writeAtomic(file, doc.toString());
  return true;
}

function seqOf(map: YAMLMap, key: string): YAMLSeq {
  let seq = map.get(key);
  if (!isSeq(seq)) {
    seq = new YAMLSeq();
    map.set(key, seq);
  }
  return seq as YAMLSeq;
}

/** Adds a public key file (or folder) to `signature.trusted_keys`. */
export function addTrustedKeyPath(file: string, keyPath: string): Promise<boolean> {
  return editPolicy(file, (signature, doc) => {
    const seq = seqOf(signature, 'trusted_keys');
    if (seq.items.some((i) => String((i as { value?: unknown }).value ?? i) === keyPath)) return false;
    seq.add(doc.createNode(keyPath));
    return true;
  });
}

export interface RevokedKeyEntry {
  key_id: string;
  reason?: string;
  revoked_at?: string;
}

/** Adds a key id to `signature.revoked_keys` (64 lowercase hex digits: the id Sovereign shows). */
export function addRevokedKey(file: string, entry: RevokedKeyEntry): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(entry.key_id)) throw new UsageError(`"${entry.key_id}" is not a key id`, 'a key id is 64 hex digits (sha256 of the public key), as `sovereign verify` and the Models view show it');
  return editPolicy(file, (signature, doc) => {
    const seq = seqOf(signature, 'revoked_keys');
    if (seq.items.some((i) => isMap(i) && i.get('key_id') === entry.key_id)) return false;
    seq.add(doc.createNode(Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined && v !== ''))));
    return true;
  });
}
