import { mkdir, open, readFile, stat, truncate as truncateFile, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';
import { redact, redactValue } from '../redact/redact';
import { ioError, IoError } from '../util/errors';
import { METADATA_ONLY, type AuditAction } from './actions';
import { actorFor } from './actor';
import { canonicalJson, GENESIS, sha256Hex } from './canonical';

export { auditActions, type AuditAction } from './actions';
export { verifyAudit, type AuditVerification } from './verify';

/** The audit log of a workspace: tracked in git next to the manifests and the policy. */
export const AUDIT_FILE = join('.sovereign', 'audit.jsonl');

export function auditFile(workspaceRoot: string): string {
  return join(resolve(workspaceRoot), AUDIT_FILE);
}

export interface AuditEvent {
  action: string;
  subject?: string;
  details?: Record<string, unknown>;
}

/** One line of the log. `hash` = sha256 of the canonical JSON of every other field. */
export interface AuditEntry {
  seq: number;
  time: string;
  actor: string;
  action: AuditAction | string;
  subject?: string;
  details?: Record<string, unknown>;
  /** sha256 of the previous line's bytes (without its newline); GENESIS for the first entry. */
  prev: string;
  hash: string;
}

/** Long strings are cut: the log records what happened, it is not a copy of the data. */
const MAX_STRING = 2048;

/**
 * Appends one entry to `<workspaceRoot>/.sovereign/audit.jsonl`, chained to the previous line by hash.
 * Every string in `details` and `subject` goes through the redactor; for `completion` and `model-load`
 * only metadata keys are kept (never code or prompts). Safe under concurrency: calls in this process are
 * queued per file, and processes take a lock file (stale after 10 s) around "read last line + append".
 * Throws IoError when the log cannot be written: callers decide whether that stops their action.
 */
export function appendAudit(
  workspaceRoot: string,
  event: { action: string; subject?: string; details?: Record<string, unknown> },
): Promise<AuditEntry> {
  const file = auditFile(workspaceRoot);
  return queued(file, () => appendLocked(workspaceRoot, file, event));
}

/** Runs `work` after every earlier call for the same file in this process (they queue per file). */
function queued<T>(file: string, work: () => Promise<T>): Promise<T> {
  const previous = queues.get(file) ?? Promise.resolve();
  const next = previous.then(work);
  // The queue continues after a failure; the caller still sees its own error.
  const settled = next.catch(() => undefined);
  queues.set(file, settled);
  void settled.then(() => {
    if (queues.get(file) === settled) queues.delete(file);
  });
  return next;
}

const queues = new Map<string, Promise<unknown>>();

async function appendLocked(workspaceRoot: string, file: string, event: AuditEvent): Promise<AuditEntry> {
  if (!event || typeof event.action !== 'string' || event.action.trim() === '') {
    throw new IoError('an audit event needs an action', 'pass one of the names in auditActions');
  }
  const actor = await actorFor(workspaceRoot);
  try {
    await mkdir(dirname(file), { recursive: true });
  } catch (err) {
    throw ioError(err, dirname(file), 'create');
  }
  return withFileLock(file, () => appendUnlocked(file, event, actor));
}

/** Appends one entry; the caller holds the file lock. */
async function appendUnlocked(file: string, event: AuditEvent, actor: string): Promise<AuditEntry> {
  const last = await lastLine(file);
  const seq = last ? seqOf(last) + 1 : 1;
  const entry = buildEntry(event, { seq, actor, prev: last ? sha256Hex(last.text) : GENESIS });
  const handle = await open(file, 'a');
  try {
    // One write of the whole line on an O_APPEND descriptor: readers never see half a line.
    await handle.write(canonicalJson(entry) + '\n');
  } finally {
    await handle.close();
  }
  return entry;
}

/** Holds the audit log's cross-process lock (`audit.jsonl.lock`, stale after 10 s) around `fn`. */
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockfile.lock(file, {
      realpath: false,
      lockfilePath: `${file}.lock`,
      stale: 10_000,
      update: 2_000,
      retries: { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 100, randomize: true },
    });
  } catch (err) {
    throw new IoError(
      `cannot lock the audit log ${file}: ${(err as Error).message}`,
      `another sovereign process may hold it; if none runs, remove ${file}.lock`,
    );
  }
  try {
    return await fn();
  } catch (err) {
    throw err instanceof IoError ? err : ioError(err, file, 'write');
  } finally {
    await release().catch(() => undefined);
  }
}

export interface UndoResult {
  /** 'removed': our lines were the end of the log and were cut off; 'compensated': others appended after
   * them, so they stay and a `registration-rolled-back` entry names them; 'none': nothing to undo. */
  outcome: 'removed' | 'compensated' | 'none';
  entry?: AuditEntry;
}

/**
 * Undoes entries this process appended (a registry transaction that failed), without touching anyone
 * else's: under the log's lock, when `entries` are exactly the last lines of the log they are cut off
 * (the file is then byte-for-byte what it was before them; a log that did not exist before is removed
 * when `removeIfEmpty`). When other processes appended after them, rewriting would delete or re-chain
 * their lines, so ours stay and one `registration-rolled-back` entry is appended that names them
 * (seq and hash) and says why: the chain stays intact and the log stays append-only.
 */
export function undoAuditEntries(
  workspaceRoot: string,
  entries: readonly AuditEntry[],
  reason: string,
  options: { removeIfEmpty?: boolean } = {},
): Promise<UndoResult> {
  const file = auditFile(workspaceRoot);
  if (!entries.length) return Promise.resolve({ outcome: 'none' });
  return queued(file, async () => {
    const actor = await actorFor(workspaceRoot);
    return withFileLock(file, async () => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { outcome: 'none' };
        throw ioError(err, file);
      }
      const ours = entries.map((e) => canonicalJson(e) + '\n').join('');
      if (text.endsWith(ours) && (text.length === ours.length || text[text.length - ours.length - 1] === '\n')) {
        const keep = Buffer.byteLength(text) - Buffer.byteLength(ours);
        if (keep === 0 && options.removeIfEmpty) await unlink(file);
        else await truncateFile(file, keep);
        return { outcome: 'removed' };
      }
      const entry = await appendUnlocked(
        file,
        {
          action: 'registration-rolled-back',
          subject: entries[0].subject,
          details: { reason, entries: entries.map((e) => ({ seq: e.seq, action: e.action, hash: e.hash })) },
        },
        actor,
      );
      return { outcome: 'compensated', entry };
    });
  });
}

function buildEntry(event: AuditEvent, chain: { seq: number; actor: string; prev: string }): AuditEntry {
  const body: Omit<AuditEntry, 'hash'> = {
    seq: chain.seq,
    time: new Date().toISOString(),
    actor: chain.actor,
    action: event.action,
    subject: event.subject === undefined ? undefined : truncate(redact(String(event.subject)).text),
    details: event.details === undefined ? undefined : cleanDetails(event.action, event.details),
    prev: chain.prev,
  };
  return { ...body, hash: sha256Hex(canonicalJson(body)) };
}

function cleanDetails(action: string, details: Record<string, unknown>): Record<string, unknown> {
  const allowed = METADATA_ONLY[action as AuditAction];
  let kept: Record<string, unknown> = details;
  if (allowed) {
    kept = {};
    const dropped: string[] = [];
    for (const [k, v] of Object.entries(details)) {
      if (allowed.includes(k)) kept[k] = v;
      else dropped.push(k);
    }
    // Say that something was withheld, by name only, so the entry is honest about its gaps.
    if (dropped.length > 0) kept.withheld = dropped.sort();
  }
  const redacted = redactValue(kept).value;
  return truncateDeep(redacted) as Record<string, unknown>;
}

function truncate(text: string): string {
  return text.length > MAX_STRING ? `${text.slice(0, MAX_STRING)}… [${text.length - MAX_STRING} more characters]` : text;
}

function truncateDeep(v: unknown): unknown {
  if (typeof v === 'string') return truncate(v);
  if (Array.isArray(v)) return v.map(truncateDeep);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, truncateDeep(x)]));
  return v;
}

function seqOf(line: { text: string }): number {
  try {
    const seq = (JSON.parse(line.text) as { seq?: unknown }).seq;
    if (typeof seq === 'number' && Number.isInteger(seq) && seq > 0) return seq;
  } catch {
    // fall through: a damaged last line still gets chained to; `verify` reports it.
  }
  return 0;
}

/** The last non-empty line, read from the end in growing chunks (the log can be large). */
async function lastLine(file: string): Promise<{ text: string } | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw ioError(err, file);
  }
  try {
    const size = (await handle.stat()).size;
    let chunk = 4096;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      await handle.read(buf, 0, buf.length, start);
      const text = buf.toString('utf8').replace(/\n+$/, '');
      const nl = text.lastIndexOf('\n');
      if (nl >= 0 || start === 0) {
        const line = text.slice(nl + 1);
        return line.length > 0 ? { text: line } : undefined;
      }
      chunk *= 4;
    }
  } finally {
    await handle.close();
  }
}

export interface ReadAuditOptions {
  /** Read this file instead of the workspace's log. */
  file?: string;
  action?: string;
  /** Entries at or after this time. */
  since?: Date;
}

/**
 * The entries of a workspace's log, in order, optionally filtered. Lines that are not JSON are skipped
 * here (verifyAudit reports them). A missing log is an empty list.
 */
export async function readAudit(workspaceRoot: string, options: ReadAuditOptions = {}): Promise<AuditEntry[]> {
  const file = options.file ?? auditFile(workspaceRoot);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw ioError(err, file);
  }
  const entries: AuditEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as AuditEntry;
      if (options.action && e.action !== options.action) continue;
      if (options.since && !(Date.parse(e.time) >= options.since.getTime())) continue;
      entries.push(e);
    } catch {
      continue;
    }
  }
  return entries;
}

/** True when the workspace has an audit log. */
export async function hasAudit(workspaceRoot: string): Promise<boolean> {
  try {
    return (await stat(auditFile(workspaceRoot))).isFile();
  } catch {
    return false;
  }
}
