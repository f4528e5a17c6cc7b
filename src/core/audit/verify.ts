import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TrustedKey } from '../signing/keys';
import { checkCheckpoint, checkGitHistory, type CheckpointAnchor, type HistoryAnchor } from './anchor';
import { ioError } from '../util/errors';
import { canonicalJson, GENESIS, sha256Hex } from './canonical';

export interface AuditVerification {
  ok: boolean;
  /** Entries read (up to and including the first bad one when the chain is broken). */
  entries: number;
  file: string;
  /** The first line that breaks the chain: 1-based line number, its seq when readable, and why. */
  firstBad?: { line: number; seq?: number; reason: string };
  /**
   * The last good entry. A log cut short at its end still verifies (nothing after the cut is left to
   * disagree): compare `head` with one recorded elsewhere (a commit, an evidence bundle) to catch that.
   */
  head?: { seq: number; hash: string; time: string };
  /** The log compared with its committed versions in git (see anchor.ts). */
  history?: HistoryAnchor;
  /** The signed checkpoint next to the log, when there is one. */
  checkpoint?: CheckpointAnchor;
  /** The chain alone (ok also needs history and checkpoint to agree). */
  chainOk?: boolean;
}

export interface VerifyAuditOptions {
  /** Compare with git history and the signed checkpoint (default true). */
  anchors?: boolean;
  /**
   * Keys that may sign the checkpoint. None by default: a checkpoint is then refused (fail closed). The
   * workspace's policy keys come from govern/audit-verify.ts (`verifyWorkspaceAudit`).
   */
  trustedKeys?: readonly TrustedKey[] | (() => Promise<readonly TrustedKey[]>);
}

const FIELDS = ['seq', 'time', 'actor', 'action', 'prev', 'hash'] as const;

/**
 * Checks the whole chain: every line is canonical JSON, its hash matches its content, seq counts up
 * from 1 with no gap, and `prev` is the sha256 of the line before. Says where the first break is:
 *   edited entry    -> its hash no longer matches (or its bytes are not canonical)
 *   removed entry   -> the next entry has the wrong seq and prev
 *   reordered       -> the first moved entry has the wrong seq
 *   inserted entry  -> the inserted one has the wrong seq, or the one after it the wrong prev
 * Accepts a workspace root (reads .sovereign/audit.jsonl) or the log file itself. Throws IoError when
 * the file is missing or unreadable.
 */
export async function verifyAudit(rootOrFile: string, options: VerifyAuditOptions = {}): Promise<AuditVerification> {
  const file = await resolveLogFile(rootOrFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw ioError(err, file);
  }
  const v = verifyAuditText(text, file);
  if (options.anchors === false) return v;
  const history = await checkGitHistory(file, text);
  const checkpoint = await checkCheckpoint(file, text, options.trustedKeys ?? []);
  const out: AuditVerification = { ...v, ok: v.ok && history.ok && checkpoint.ok, chainOk: v.ok, history, checkpoint };
  // Readers that only know firstBad (the extension, the evidence report) still see where and why.
  if (v.ok && !out.ok) {
    const seq = history.firstMissing ?? history.firstChanged ?? checkpoint.firstMissing ?? checkpoint.seq;
    const reason = (!history.ok ? history.reason : checkpoint.reason) ?? 'the log does not match its recorded head';
    out.firstBad = { line: Math.max(1, Math.min(seq ?? v.entries, v.entries)), ...(seq !== undefined ? { seq } : {}), reason };
  }
  return out;
}


async function resolveLogFile(rootOrFile: string): Promise<string> {
  const abs = resolve(rootOrFile);
  try {
    if ((await stat(abs)).isDirectory()) return join(abs, '.sovereign', 'audit.jsonl');
  } catch {
    // not there: readFile reports it with the path
  }
  return abs;
}

export function verifyAuditText(text: string, file = '<text>'): AuditVerification {
  const lines = text.split('\n');
  // One trailing newline ends the last line; anything else empty is a damaged log.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let prevHash = GENESIS;
  let head: AuditVerification['head'];
  const bad = (line: number, reason: string, seq?: number): AuditVerification => ({
    ok: false,
    entries: line,
    file,
    firstBad: seq === undefined ? { line, reason } : { line, seq, reason },
    head,
  });

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i];
    if (raw.trim() === '') return bad(lineNo, 'empty line inside the log (a line was removed or the file was edited)');
    let entry: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return bad(lineNo, 'not a JSON object');
      entry = parsed as Record<string, unknown>;
    } catch {
      return bad(lineNo, 'not valid JSON (the line was edited or cut)');
    }
    const seq = typeof entry.seq === 'number' ? entry.seq : undefined;
    for (const field of FIELDS) {
      if (entry[field] === undefined) return bad(lineNo, `missing field "${field}"`, seq);
    }
    const { hash, ...body } = entry;
    if (typeof hash !== 'string' || hash !== sha256Hex(canonicalJson(body))) {
      return bad(lineNo, 'hash does not match the entry content (the entry was edited)', seq);
    }
    if (canonicalJson(entry) !== raw) {
      return bad(lineNo, 'the line is not in canonical form (it was rewritten by hand or by another tool)', seq);
    }
    if (seq !== lineNo) {
      return bad(
        lineNo,
        `sequence number ${String(entry.seq)} where ${lineNo} was expected (an entry was removed, inserted or moved before this line)`,
        seq,
      );
    }
    if (entry.prev !== prevHash) {
      return bad(lineNo, 'prev does not match the hash of the line before (an entry was removed, inserted or moved)', seq);
    }
    prevHash = sha256Hex(raw);
    head = { seq: lineNo, hash: hash, time: String(entry.time) };
  }
  return { ok: true, entries: lines.length, file, head };
}
