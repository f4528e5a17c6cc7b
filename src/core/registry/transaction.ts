import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { appendAudit, undoAuditEntries, type AuditEntry, type AuditEvent } from '../audit/log';
import { IoError, ioError, SovereignError } from '../util/errors';
import { writeAtomic } from '../workspace/atomic-write';
import { RegistryGit } from './git';
import { checkpointKey, makeCheckpoint } from '../audit/anchor';
import { keyIdOf, type TrustedKey } from '../signing/keys';
import { AUDIT_CHECKPOINT_FILE, AUDIT_FILE } from '../workspace/workspace';

/**
 * A registry change: files written atomically (temp + rename), then one pathspec-limited commit. Any
 * failure before the commit completes restores every file, every created folder and the index entries of
 * those files exactly as they were, so the working tree and `git status` look as if nothing happened.
 *
 * The audit log is the exception: other processes append to it at any time, so it is never restored from
 * a snapshot. The transaction remembers the entries it appended (`audit()`) and a rollback removes
 * exactly those when they are still the end of the log, else appends a `registration-rolled-back` entry
 * naming them (see undoAuditEntries). Callers hold the registry lock (withRegistryLock) around it.
 */
export class RegistryTransaction {
  private readonly saved = new Map<string, Buffer | null>();
  private readonly createdDirs: string[] = [];
  private readonly git: RegistryGit;
  private readonly appended: AuditEntry[] = [];
  private auditExisted = true;
  private rolledBack = false;

  /**
   * @param checkpoint signs the audit checkpoint committed with the log: `key` (else SOVEREIGN_SIGNING_KEY),
   *   only when it is one of `trustedKeys` (the workspace policy's, looked up by the caller: govern/). Without
   *   it no checkpoint is written.
   */
  constructor(
    readonly root: string,
    private readonly checkpoint?: { key?: KeyObject; trustedKeys: () => Promise<readonly TrustedKey[]> },
  ) {
    this.git = new RegistryGit(root);
  }

  /** When this change commits the audit log and a signing key is at hand: a signed checkpoint of its head. */
  private async writeCheckpoint(): Promise<void> {
    if (!this.saved.has(AUDIT_FILE)) return;
    if (!this.checkpoint) return;
    const key = await checkpointKey(this.checkpoint.key);
    if (!key) return;
    // Only a key the policy trusts (and has not revoked): `audit verify` refuses a checkpoint signed by any other.
    const id = keyIdOf(createPublicKey(key));
    if (!(await this.checkpoint.trustedKeys()).some((k) => k.keyId === id)) return;
    let text: string;
    try {
      text = await readFile(join(this.root, AUDIT_FILE), 'utf8');
    } catch {
      return;
    }
    const cp = makeCheckpoint(text, AUDIT_FILE, key);
    if (cp) await this.write(AUDIT_CHECKPOINT_FILE, JSON.stringify(cp, null, 2) + '\n');
  }

  /** Appends an audit entry that belongs to this change (undone by a rollback) and commits the log with it. */
  async audit(event: AuditEvent): Promise<AuditEntry> {
    await this.snapshot(AUDIT_FILE);
    const entry = await appendAudit(this.root, event);
    this.appended.push(entry);
    return entry;
  }

  /** Records a file's current content before something (us, or the audit log) changes it. */
  async snapshot(rel: string): Promise<void> {
    if (this.saved.has(rel)) return;
    if (rel === AUDIT_FILE) {
      // Only whether it existed: its content is never restored (others append to it concurrently).
      this.auditExisted = await exists(join(this.root, rel));
      this.saved.set(rel, null);
      return;
    }
    try {
      this.saved.set(rel, await readFile(join(this.root, rel)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(err, rel);
      this.saved.set(rel, null);
    }
  }

  /** Creates the parent folders of `rel`, remembering the ones that did not exist (for rollback). */
  async ensureDir(rel: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dirname(join(this.root, rel)); d.length > this.root.length; d = dirname(d)) {
      if (await exists(d)) break;
      missing.unshift(d);
    }
    for (const d of missing) {
      try {
        await mkdir(d);
        this.createdDirs.push(d);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, d, 'create');
      }
    }
  }

  async write(rel: string, content: string | Buffer): Promise<void> {
    await this.snapshot(rel);
    await this.ensureDir(rel);
    await writeAtomic(join(this.root, rel), content);
  }

  /** Paths this transaction changed (or may have, through the audit log). */
  paths(): string[] {
    return [...this.saved.keys()];
  }

  /** Commits exactly the touched paths; on failure rolls everything back and rethrows. */
  async commit(message: string): Promise<string> {
    try {
      await this.writeCheckpoint();
    } catch (err) {
      await this.rollback(`the audit checkpoint could not be signed: ${(err as Error).message.split('\n')[0]}`);
      throw err;
    }
    const paths = this.paths();
    const index = await this.git.indexEntries(paths);
    try {
      return await this.git.commitOnly(paths, message);
    } catch (err) {
      let indexError: unknown;
      try {
        await this.git.restoreIndex(paths, index);
      } catch (e) {
        indexError = e;
      }
      await this.rollback(`the commit failed: ${(err as Error).message.split('\n')[0]}`);
      if (indexError !== undefined) {
        const quoted = paths.map((p) => (/^[\w./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`)).join(' ');
        throw new IoError(
          `${(err as Error).message}; then restoring the git index failed too (${(indexError as Error).message}): the index is dirty, ${paths.join(', ')} may still be staged (the files themselves were restored)`,
          `run \`git restore --staged -- ${quoted}\` in ${this.root}, then check \`git status\``,
        );
      }
      if (err instanceof SovereignError) throw new (err.constructor as typeof SovereignError)(`${err.message} (nothing was changed)`, err.hint, err.exitCode);
      throw err;
    }
  }

  /**
   * Restores every file, removes the folders this transaction created and undoes its own audit entries.
   * Runs once (a second call does nothing).
   */
  async rollback(reason = 'the registry change failed'): Promise<void> {
    if (this.rolledBack) return;
    this.rolledBack = true;
    const failures: string[] = [];
    for (const [rel, content] of this.saved) {
      if (rel === AUDIT_FILE) continue;
      const abs = join(this.root, rel);
      try {
        if (content === null) await rm(abs, { force: true });
        else await writeAtomic(abs, content);
      } catch (err) {
        failures.push(`${rel}: ${(err as Error).message}`);
      }
    }
    try {
      await undoAuditEntries(this.root, this.appended, reason, { removeIfEmpty: !this.auditExisted });
    } catch (err) {
      failures.push(`${AUDIT_FILE}: ${(err as Error).message}`);
    }
    for (const d of [...this.createdDirs].reverse()) {
      await rmdir(d).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' && err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') failures.push(`${d}: ${err.message}`);
      });
    }
    if (failures.length) {
      throw new IoError(`rolling back the registry change failed: ${failures.join('; ')}`, 'check `git status` and restore those files by hand (`git restore -- PATH`)');
    }
  }
}


async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
