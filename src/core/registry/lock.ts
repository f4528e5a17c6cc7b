import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { IoError, ioError } from '../util/errors';

/**
 * One registry writer at a time, across processes: every registry mutation (add, alias, sign, init)
 * holds `<git dir>/sovereign-registry.lock` from "is NAME@VERSION free / what does the alias point at"
 * to the end of its commit (or rollback). The lock file is created with O_EXCL and holds
 * {pid, host, time, command}; a lock whose process is gone (same host, pid not running) is stale and
 * taken over. A lock held by a live process (or by another host) is waited for up to a timeout
 * (SOVEREIGN_REGISTRY_LOCK_TIMEOUT seconds, default 30), then refused with who holds it and how to clear
 * it. Calls in one process queue behind each other too (the pid in the file is then our own).
 */
export const REGISTRY_LOCK_NAME = 'sovereign-registry.lock';
export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;

export interface LockOwner {
  pid: number;
  host: string;
  time: string;
  command?: string;
}

export interface RegistryLockOptions {
  /** How long to wait for another writer, in ms (default: SOVEREIGN_REGISTRY_LOCK_TIMEOUT s, else 30 s). */
  timeoutMs?: number;
  /** What holds the lock, for the message another writer sees (e.g. "registry add m@1.0.0"). */
  command?: string;
}

/** Absolute path of the registry lock of the repository at `root`. */
export async function registryLockPath(root: string): Promise<string> {
  const out = await new Promise<string | undefined>((done) =>
    execFile('git', ['rev-parse', '--git-dir'], { cwd: root, windowsHide: true }, (err, stdout) => done(err ? undefined : stdout.trim())),
  );
  if (!out) throw new IoError(`cannot find the git directory of ${root}`, 'run registry commands inside a git repository (`git init`)');
  return join(isAbsolute(out) ? out : resolve(root, out), REGISTRY_LOCK_NAME);
}

export function lockTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOVEREIGN_REGISTRY_LOCK_TIMEOUT;
  if (raw === undefined || raw.trim() === '') return DEFAULT_LOCK_TIMEOUT_MS;
  const s = Number(raw);
  return Number.isFinite(s) && s >= 0 ? Math.round(s * 1000) : DEFAULT_LOCK_TIMEOUT_MS;
}

/** In-process queue per lock file: a process never races itself for the file. */
const local = new Map<string, Promise<unknown>>();

/** Runs `fn` holding the registry lock of `root`; the lock is released however `fn` ends. */
export async function withRegistryLock<T>(root: string, fn: () => Promise<T>, options: RegistryLockOptions = {}): Promise<T> {
  const path = await registryLockPath(root);
  const before = local.get(path) ?? Promise.resolve();
  const run = before.then(async () => {
    const token = await acquire(path, options);
    try {
      return await fn();
    } finally {
      await release(path, token);
    }
  });
  const settled = run.catch(() => undefined);
  local.set(path, settled);
  void settled.then(() => {
    if (local.get(path) === settled) local.delete(path);
  });
  return run;
}

async function acquire(path: string, options: RegistryLockOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? lockTimeoutMs();
  const deadline = Date.now() + timeoutMs;
  const owner: LockOwner = { pid: process.pid, host: hostname(), time: new Date().toISOString(), command: options.command };
  const content = JSON.stringify(owner) + '\n';
  let delay = 20;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o644);
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
      return content;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, path, 'create');
    }
    const held = await readOwner(path);
    if (held === 'gone') continue; // released between our open and read: try again at once
    if (held !== 'unreadable' && isStale(held.owner)) {
      await takeOverStale(path, held.text);
      continue;
    }
    if (Date.now() >= deadline) throw busyError(path, held === 'unreadable' ? undefined : held.owner, timeoutMs);
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 250);
  }
}

async function release(path: string, token: string): Promise<void> {
  // Only remove the lock if it is still ours (a stale-takeover by someone else must not be undone).
  try {
    if ((await readFile(path, 'utf8')) === token) await unlink(path);
  } catch {
    // already gone
  }
}

async function readOwner(path: string): Promise<{ owner: LockOwner; text: string } | 'gone' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unreadable';
  }
  try {
    const o = JSON.parse(text) as LockOwner;
    if (typeof o.pid === 'number' && typeof o.host === 'string') return { owner: o, text };
  } catch {
    // a half-written lock: its writer is between open and write; wait
  }
  return 'unreadable';
}

/** Stale: held on this host by a process that no longer runs. Another host's lock is never judged. */
function isStale(o: LockOwner): boolean {
  if (o.host !== hostname()) return false;
  if (o.pid === process.pid) return false; // our own: an earlier call in this process still holds it
  try {
    process.kill(o.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Moves the stale lock aside; if what was moved is not what we judged stale, puts it back. */
async function takeOverStale(path: string, judged: string): Promise<void> {
  const aside = `${path}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else took it over first
  }
  let moved = '';
  try {
    moved = await readFile(aside, 'utf8');
  } catch {
    // nothing to compare: treat as stale
  }
  if (moved !== judged && moved !== '') {
    await link(aside, path).catch(() => undefined); // a live lock: restore it unless a new one exists
  }
  await unlink(aside).catch(() => undefined);
}

function busyError(path: string, owner: LockOwner | undefined, timeoutMs: number): IoError {
  const who = owner
    ? `pid ${owner.pid}${owner.host !== hostname() ? ` on ${owner.host}` : ''} since ${owner.time}${owner.command ? `: ${owner.command}` : ''}`
    : 'its owner is still writing the lock file';
  return new IoError(
    `another registration is running (${who}); waited ${Math.round(timeoutMs / 1000)} s for it`,
    `wait for it and retry (SOVEREIGN_REGISTRY_LOCK_TIMEOUT sets the wait in seconds), or remove ${path} if that process is gone`,
  );
}
