import { execFile, spawn } from 'node:child_process';
import { createPublicKey, sign as signBytes, verify as verifyBytes, type KeyObject } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { keyIdOf, loadPrivateKey, type TrustedKey } from '../signing/keys';
import { canonicalJson } from './canonical';

/**
 * What a hash chain alone cannot prove: that nothing was cut off its end, and that nobody removed an
 * entry and recomputed the chain after it. Two heads that cannot be rewritten silently anchor the log:
 *
 * 1. git history: every committed version of the log must be a prefix of the current file (the registry
 *    commits the log with every change). Cutting or rewriting committed lines is reported with the first
 *    missing or changed sequence number. Rewriting git history itself is visible to every clone.
 * 2. a signed checkpoint, `.sovereign/audit.checkpoint.json` ({seq, hash, time, keyId, signature}),
 *    written with each registry commit when a signing key is at hand (`--key`, or SOVEREIGN_SIGNING_KEY).
 *    It must be signed by a key the policy trusts, and the log must still hold that entry.
 */
export const CHECKPOINT_FILE_NAME = 'audit.checkpoint.json';

export interface HistoryAnchor {
  /** false only when a committed version is not a prefix of the log. */
  ok: boolean;
  /** Distinct committed versions compared. 0 with `skipped` when there is no history to compare. */
  checked: number;
  skipped?: string;
  /** The newest committed head: its last entry and the commit. */
  committedHead?: { seq: number; hash: string; commit: string };
  /** First sequence number missing from the log (cut off its end or removed). */
  firstMissing?: number;
  /** First committed sequence number whose line differs now. */
  firstChanged?: number;
  /** The commit whose version disagrees. */
  commit?: string;
  reason?: string;
}

export interface CheckpointBody {
  version: 1;
  file: string;
  seq: number;
  hash: string;
  time: string;
  keyId: string;
}

export interface Checkpoint extends CheckpointBody {
  /** base64 ECDSA P-256 / SHA-256 signature over canonicalJson(body). */
  signature: string;
}

export interface CheckpointAnchor {
  present: boolean;
  ok: boolean;
  file?: string;
  seq?: number;
  hash?: string;
  keyId?: string;
  time?: string;
  reason?: string;
  firstMissing?: number;
}

interface LogLine {
  raw: string;
  seq?: number;
  hash?: string;
}

function parseLines(text: string): LogLine[] {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.map((raw) => {
    try {
      const e = JSON.parse(raw) as { seq?: unknown; hash?: unknown };
      return { raw, seq: typeof e.seq === 'number' ? e.seq : undefined, hash: typeof e.hash === 'string' ? e.hash : undefined };
    } catch {
      return { raw };
    }
  });
}

function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((done) =>
    execFile('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, windowsHide: true }, (err, stdout) => done(err ? undefined : stdout)),
  );
}

/** Reads blobs in one `git cat-file --batch`. */
function readBlobs(cwd: string, ids: readonly string[]): Promise<Map<string, string>> {
  return new Promise((resolveBlobs, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'ignore'], windowsHide: true });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', () => {
      const out = Buffer.concat(chunks);
      const blobs = new Map<string, string>();
      let at = 0;
      while (at < out.length) {
        const nl = out.indexOf(0x0a, at);
        if (nl < 0) break;
        const [id, type, size] = out.subarray(at, nl).toString('utf8').split(' ');
        if (type !== 'blob') {
          at = nl + 1;
          continue;
        }
        const n = Number(size);
        blobs.set(id, out.subarray(nl + 1, nl + 1 + n).toString('utf8'));
        at = nl + 1 + n + 1;
      }
      resolveBlobs(blobs);
    });
    child.stdin.end(ids.map((i) => `${i}\n`).join(''));
  });
}

/** Compares the log with every committed version of it in the git history of the folder that holds it. */
export async function checkGitHistory(file: string, text: string): Promise<HistoryAnchor> {
  const dir = dirname(file);
  const top = (await git(dir, ['rev-parse', '--show-toplevel']))?.trim();
  if (!top) return { ok: true, checked: 0, skipped: 'the log is not in a git repository' };
  let rel: string;
  try {
    rel = relative(await realpath(top), await realpath(file)).split(sep).join('/');
  } catch {
    return { ok: true, checked: 0, skipped: 'the log cannot be located in its repository' };
  }
  const log = await git(top, ['log', '--format=commit %H', '--raw', '--no-abbrev', '--no-renames', '--', rel]);
  if (log === undefined) return { ok: true, checked: 0, skipped: 'the repository has no commits yet' };
  // Newest first: [commit, blob of the log in that commit].
  const versions: { commit: string; blob: string }[] = [];
  let commit = '';
  for (const line of log.split('\n')) {
    if (line.startsWith('commit ')) commit = line.slice(7).trim();
    else if (line.startsWith(':')) {
      const fields = line.slice(1).split('\t')[0].split(' ');
      const blob = fields[3];
      if (blob && !/^0+$/.test(blob)) versions.push({ commit, blob });
    }
  }
  if (!versions.length) return { ok: true, checked: 0, skipped: 'the log was never committed' };
  const blobs = await readBlobs(top, [...new Set(versions.map((v) => v.blob))]);
  const current = parseLines(text);
  const newest = parseLines(blobs.get(versions[0].blob) ?? '');
  const last = newest[newest.length - 1];
  const committedHead = last ? { seq: last.seq ?? newest.length, hash: last.hash ?? '', commit: versions[0].commit } : undefined;
  const seen = new Set<string>();
  let worst: { index: number; kind: 'missing' | 'changed'; seq: number; commit: string } | undefined;
  for (const v of versions) {
    if (seen.has(v.blob)) continue;
    seen.add(v.blob);
    const committed = parseLines(blobs.get(v.blob) ?? '');
    for (let i = 0; i < committed.length; i++) {
      if (i < current.length && current[i].raw === committed[i].raw) continue;
      const kind = i >= current.length ? 'missing' : 'changed';
      if (!worst || i < worst.index) worst = { index: i, kind, seq: committed[i].seq ?? i + 1, commit: v.commit };
      break;
    }
  }
  const base = { checked: seen.size, committedHead };
  if (!worst) return { ok: true, ...base };
  const headText = committedHead ? `; the last committed head is seq ${committedHead.seq} (commit ${committedHead.commit.slice(0, 12)})` : '';
  if (worst.kind === 'missing') {
    return {
      ok: false,
      ...base,
      firstMissing: worst.seq,
      commit: worst.commit,
      reason: `entries from seq ${worst.seq} on are missing: the log was cut after seq ${worst.seq - 1}${headText}`,
    };
  }
  return {
    ok: false,
    ...base,
    firstChanged: worst.seq,
    commit: worst.commit,
    reason: `committed entry seq ${worst.seq} was changed or removed (it differs from commit ${worst.commit.slice(0, 12)})${headText}`,
  };
}

export function checkpointPathFor(logFile: string): string {
  return join(dirname(logFile), CHECKPOINT_FILE_NAME);
}

/** Signs the log's last entry as a checkpoint. */
export function makeCheckpoint(logText: string, logName: string, privateKey: KeyObject, now = new Date()): Checkpoint | undefined {
  const lines = parseLines(logText);
  const last = lines[lines.length - 1];
  if (!last || last.seq === undefined || last.hash === undefined) return undefined;
  const body: CheckpointBody = { version: 1, file: logName, seq: last.seq, hash: last.hash, time: now.toISOString(), keyId: keyIdOf(createPublicKey(privateKey)) };
  return { ...body, signature: signBytes('sha256', Buffer.from(canonicalJson(body)), privateKey).toString('base64') };
}

/** The key that signs checkpoints: the one given, else SOVEREIGN_SIGNING_KEY (a private key file), else none. */
export async function checkpointKey(explicit?: KeyObject, env: NodeJS.ProcessEnv = process.env): Promise<KeyObject | undefined> {
  if (explicit) return explicit;
  const path = env.SOVEREIGN_SIGNING_KEY;
  return path ? loadPrivateKey(path) : undefined;
}

/**
 * Checks the checkpoint next to the log, when there is one: signed by one of `trusted`, and the log
 * still holds the entry it names (same seq, same hash).
 */
export async function checkCheckpoint(file: string, text: string, trusted: readonly TrustedKey[] | (() => Promise<readonly TrustedKey[]>)): Promise<CheckpointAnchor> {
  const path = checkpointPathFor(file);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { present: false, ok: true };
    return { present: true, ok: false, file: path, reason: `${basename(path)} cannot be read: ${(err as Error).message}` };
  }
  let cp: Checkpoint;
  try {
    cp = JSON.parse(raw) as Checkpoint;
    if (typeof cp.seq !== 'number' || typeof cp.hash !== 'string' || typeof cp.keyId !== 'string' || typeof cp.signature !== 'string' || typeof cp.time !== 'string') throw new Error('fields missing');
  } catch (err) {
    return { present: true, ok: false, file: path, reason: `${basename(path)} is not a checkpoint (${(err as Error).message})` };
  }
  const info = { present: true, file: path, seq: cp.seq, hash: cp.hash, keyId: cp.keyId, time: cp.time };
  let keys: readonly TrustedKey[];
  try {
    keys = typeof trusted === 'function' ? await trusted() : trusted;
  } catch (err) {
    return { ...info, ok: false, reason: `the trusted keys cannot be read to check the checkpoint: ${(err as Error).message.split('\n')[0]}` };
  }
  const key = keys.find((k) => k.keyId === cp.keyId);
  if (!key) {
    return { ...info, ok: false, reason: `the checkpoint is signed by key ${cp.keyId.slice(0, 16)}..., which the policy does not trust (signature.trusted_keys in .sovereign/policy.yaml)` };
  }
  const body: CheckpointBody = { version: 1, file: cp.file, seq: cp.seq, hash: cp.hash, time: cp.time, keyId: cp.keyId };
  let good = false;
  try {
    good = verifyBytes('sha256', Buffer.from(canonicalJson(body)), key.key, Buffer.from(cp.signature, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return { ...info, ok: false, reason: 'the checkpoint signature does not verify (the checkpoint was edited)' };
  const lines = parseLines(text);
  const at = lines.find((l) => l.seq === cp.seq);
  if (!at) {
    const lastSeq = lines.length ? lines[lines.length - 1].seq ?? lines.length : 0;
    const firstMissing = lastSeq + 1;
    return {
      ...info,
      ok: false,
      firstMissing,
      reason: `entries from seq ${firstMissing} on are missing: the log was cut after seq ${firstMissing - 1}; the signed checkpoint is at seq ${cp.seq} (${cp.time})`,
    };
  }
  if (at.hash !== cp.hash) return { ...info, ok: false, reason: `entry seq ${cp.seq} is not the one the signed checkpoint names (the log was rewritten from there or before)` };
  return { ...info, ok: true };
}
