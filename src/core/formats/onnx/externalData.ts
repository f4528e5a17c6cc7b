import { lstat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { onnx } from 'onnx-proto';
import { type FindingCollector, quote } from './findingCollector';
import { MAX_EXTERNAL_LOCATIONS } from './limits';

/**
 * External data: a tensor's bytes live in another file named by `location` (relative to the model's
 * folder), at `offset`, `length` bytes. A hostile model can point that at any file the runtime can read
 * (CVE-2022-25882: `../`; CVE-2024-27318: `sub/../../` slipped past a naive check), or through a symlink.
 */

export interface ExternalDataRef {
  tensor: string;
  where: string;
  location: string;
  offset: bigint;
  length?: bigint;
  /** Bytes the tensor's type and shape need, when known. */
  expectedBytes?: bigint;
}

/** Keys the ONNX spec defines for external_data. */
const KNOWN_KEYS = new Set(['location', 'offset', 'length', 'checksum']);
const DECIMAL = /^[0-9]{1,20}$/;
const MAX_INT64 = 2n ** 63n - 1n;

/** Reads the key/value entries of an EXTERNAL tensor; malformed entries are `high` findings. */
export function parseExternalDataEntries(t: onnx.ITensorProto, where: string, expectedBytes: bigint | undefined, findings: FindingCollector): ExternalDataRef | undefined {
  const name = t.name ?? '';
  const values = new Map<string, string>();
  let ok = true;
  for (const entry of t.externalData ?? []) {
    const key = entry.key ?? '';
    const value = entry.value ?? '';
    if (values.has(key)) {
      // Readers differ on first-wins vs last-wins: a duplicate lets a scanner and a runtime see different files.
      findings.add('onnx/external-data-bad-entry', 'high', `tensor ${quote(name)}: external_data key ${quote(key)} appears more than once`, where);
      ok = false;
    }
    values.set(key, value);
    if (!KNOWN_KEYS.has(key)) findings.add('onnx/external-data-unknown-key', 'low', `tensor ${quote(name)}: external_data key ${quote(key)} is not defined by ONNX`, where);
  }
  const location = values.get('location');
  if (location === undefined || location === '') {
    findings.add('onnx/external-data-bad-entry', 'high', `tensor ${quote(name)} is EXTERNAL but names no location`, where);
    return undefined;
  }
  const number = (key: string): bigint | undefined | null => {
    const text = values.get(key);
    if (text === undefined) return undefined;
    if (!DECIMAL.test(text) || BigInt(text) > MAX_INT64) {
      findings.add('onnx/external-data-bad-entry', 'high', `tensor ${quote(name)}: external_data ${key} ${quote(text)} is not a non-negative integer`, where);
      return null;
    }
    return BigInt(text);
  };
  const offset = number('offset');
  const length = number('length');
  if (!ok || offset === null || length === null) return undefined;
  if (length !== undefined && expectedBytes !== undefined && length !== expectedBytes) {
    findings.add('onnx/tensor-size-mismatch', 'high', `tensor ${quote(name)} needs ${expectedBytes} bytes but its external data length is ${length}`, where);
  }
  return { tensor: name, where, location, offset: offset ?? 0n, length, expectedBytes };
}

export type LocationVerdict =
  | { ok: true; /** Literal path components, as the OS will walk them. */ parts: string[]; dotdot: boolean }
  | { ok: false; rule: 'onnx/external-data-absolute' | 'onnx/external-data-traversal' | 'onnx/external-data-bad-entry'; why: string };

/**
 * Lexical check of a location: relative, and inside the model's folder after normalisation. Backslashes
 * count as separators too, because the same model may be loaded on Windows.
 */
export function checkLocationText(location: string): LocationVerdict {
  if (location.includes('\0')) return { ok: false, rule: 'onnx/external-data-bad-entry', why: 'contains a NUL character' };
  if (/^[\\/]/.test(location) || /^[A-Za-z]:/.test(location)) return { ok: false, rule: 'onnx/external-data-absolute', why: 'is an absolute path' };
  let depth = 0;
  let dotdot = false;
  for (const part of location.split(/[\\/]/)) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      dotdot = true;
      depth--;
      if (depth < 0) return { ok: false, rule: 'onnx/external-data-traversal', why: 'leaves the model folder after normalisation' };
    } else depth++;
  }
  const named = location.split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  if (depth === 0 || named[named.length - 1] === '..') return { ok: false, rule: 'onnx/external-data-bad-entry', why: 'names a folder, not a file' };
  const separators = process.platform === 'win32' ? /[\\/]/ : /\//;
  const parts = location.split(separators).filter((p) => p !== '' && p !== '.');
  return { ok: true, parts, dotdot };
}

interface ResolvedFile {
  size: bigint;
}

/**
 * Resolves the external files of a model on disk: every component under the model's folder is lstat'ed
 * (no symlinks), the file must exist and be a regular file, and every tensor's range must lie inside it.
 * Returns the files that resolved, by location, with their sizes.
 */
export async function checkExternalFiles(
  modelPath: string,
  refs: readonly ExternalDataRef[],
  findings: FindingCollector,
  signal?: AbortSignal,
): Promise<Map<string, { size: number; tensors: number }>> {
  const modelDir = dirname(resolve(modelPath));
  const resolved = new Map<string, ResolvedFile | undefined>();
  const files = new Map<string, { size: number; tensors: number }>();
  for (const ref of refs) {
    signal?.throwIfAborted();
    let file = resolved.get(ref.location);
    if (!resolved.has(ref.location)) {
      if (resolved.size >= MAX_EXTERNAL_LOCATIONS) {
        findings.add('onnx/too-many-external-files', 'high', `more than ${MAX_EXTERNAL_LOCATIONS} distinct external data files; the rest were not checked`);
        break;
      }
      file = await resolveLocation(modelDir, ref, findings);
      resolved.set(ref.location, file);
    }
    if (!file) continue;
    const entry = files.get(ref.location) ?? { size: Number(file.size), tensors: 0 };
    entry.tensors++;
    files.set(ref.location, entry);
    const length = ref.length ?? ref.expectedBytes ?? file.size - ref.offset;
    if (ref.offset > file.size || length < 0n || ref.offset + length > file.size) {
      findings.add(
        'onnx/external-data-out-of-bounds',
        'high',
        `tensor ${quote(ref.tensor)} reads bytes ${ref.offset}..${ref.offset + (length < 0n ? 0n : length)} of ${quote(ref.location)}, which has ${file.size}`,
        ref.where,
      );
    }
  }
  return files;
}

async function resolveLocation(modelDir: string, ref: ExternalDataRef, findings: FindingCollector): Promise<ResolvedFile | undefined> {
  const verdict = checkLocationText(ref.location);
  if (!verdict.ok) {
    findings.add(verdict.rule, 'high', `tensor ${quote(ref.tensor)}: external data location ${quote(ref.location)} ${verdict.why}`, ref.where);
    return undefined;
  }
  if (verdict.dotdot) {
    findings.add('onnx/external-data-dotdot', 'low', `external data location ${quote(ref.location)} uses '..' (it stays inside the model folder, but honest exporters never write it)`, ref.where);
  }
  // Walk the literal components as the OS will: each one must exist and none may be a symlink. Because
  // no component is a symlink, '..' means the lexical parent, so the lexical check above holds on disk.
  let path = modelDir;
  for (let i = 0; i < verdict.parts.length; i++) {
    const part = verdict.parts[i];
    path = `${path}${sep}${part}`;
    if (part === '..') continue;
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
      findings.add('onnx/external-data-missing', 'high', `tensor ${quote(ref.tensor)}: external data file ${quote(ref.location)} ${why}`, ref.where);
      return undefined;
    }
    if (st.isSymbolicLink()) {
      findings.add('onnx/external-data-symlink', 'high', `tensor ${quote(ref.tensor)}: external data path ${quote(verdict.parts.slice(0, i + 1).join('/'))} is a symbolic link; it could point anywhere`, ref.where);
      return undefined;
    }
    const last = i === verdict.parts.length - 1;
    if (last && !st.isFile()) {
      findings.add('onnx/external-data-missing', 'high', `tensor ${quote(ref.tensor)}: external data ${quote(ref.location)} is not a regular file`, ref.where);
      return undefined;
    }
    if (!last && !st.isDirectory()) {
      findings.add('onnx/external-data-missing', 'high', `tensor ${quote(ref.tensor)}: external data file ${quote(ref.location)} does not exist`, ref.where);
      return undefined;
    }
    if (last) return { size: BigInt(st.size) };
  }
  return undefined;
}
