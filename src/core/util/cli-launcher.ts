import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, dirname, posix, win32 } from 'node:path';
import { ioError, RefusedError } from './errors';

/**
 * The `sovereign` launcher that "Sovereign: Install CLI in PATH" writes: a few lines that run the CLI bundled in
 * the installed extension (`<extension>/dist/cli.js`) with the extension host's own runtime (`process.execPath`:
 * Node in code-server and remote servers, VS Code's Electron binary on the desktop, which runs as plain Node with
 * ELECTRON_RUN_AS_NODE=1). So CI users and extension users run the same core, and nothing depends on a `node`
 * on PATH.
 */
export interface CliLauncher {
  /** Where the launcher goes: `~/.local/bin/sovereign`, or `%LOCALAPPDATA%\Programs\sovereign\sovereign.cmd`. */
  path: string;
  content: string;
}

export interface LauncherOptions {
  /** The runtime to run the CLI with (process.execPath of the extension host). */
  runtime: string;
  /** `<extension>/dist/cli.js` */
  cli: string;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  home: string;
}

/** The first line every launcher carries: how `installCliLauncher` recognises its own files. */
export const LAUNCHER_MARK = 'sovereign-workbench CLI launcher';

export function defaultLauncherPath(o: Pick<LauncherOptions, 'platform' | 'env' | 'home'>): string {
  const platform = o.platform ?? process.platform;
  if (platform === 'win32') {
    const local = o.env?.LOCALAPPDATA ?? win32.join(o.home, 'AppData', 'Local');
    return win32.join(local, 'Programs', 'sovereign', 'sovereign.cmd');
  }
  return posix.join(o.home, '.local', 'bin', 'sovereign');
}

export function cliLauncher(o: LauncherOptions, path = defaultLauncherPath(o)): CliLauncher {
  const platform = o.platform ?? process.platform;
  if (platform === 'win32') {
    const content = [`@echo off`, `rem ${LAUNCHER_MARK} (written by "Sovereign: Install CLI in PATH"; run it again after an update)`, `setlocal`, `set ELECTRON_RUN_AS_NODE=1`, `"${o.runtime}" "${o.cli}" %*`, ``].join('\r\n');
    return { path, content };
  }
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const content = [`#!/bin/sh`, `# ${LAUNCHER_MARK} (written by "Sovereign: Install CLI in PATH"; run it again after an update)`, `ELECTRON_RUN_AS_NODE=1 exec ${q(o.runtime)} ${q(o.cli)} "$@"`, ``].join('\n');
  return { path, content };
}

export type LauncherState = 'absent' | 'same' | 'ours' | 'foreign';

/** What is at the launcher's path now: nothing, this very launcher, an older launcher of ours, or another file. */
export async function launcherState(l: CliLauncher): Promise<LauncherState> {
  let existing: string;
  try {
    existing = await readFile(l.path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw ioError(err, l.path);
  }
  if (existing === l.content) return 'same';
  return existing.includes(LAUNCHER_MARK) ? 'ours' : 'foreign';
}

/**
 * Writes the launcher (executable). A file that is there already is replaced only with `overwrite` (the
 * extension asks first); this very launcher is left as it is.
 */
export async function installCliLauncher(l: CliLauncher, overwrite: boolean): Promise<LauncherState> {
  const state = await launcherState(l);
  if ((state === 'ours' || state === 'foreign') && !overwrite) {
    throw new RefusedError(`${l.path} exists already`, 'confirm that it may be replaced, or choose another path');
  }
  if (state !== 'same') {
    try {
      await mkdir(dirname(l.path), { recursive: true });
      await writeFile(l.path, l.content, { mode: 0o755 });
      await chmod(l.path, 0o755);
    } catch (err) {
      throw ioError(err, l.path, 'write');
    }
  }
  return state;
}

/** Whether the launcher's folder is on PATH (else the person is told to add it). */
export function onPath(path: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  const dir = (platform === 'win32' ? win32 : posix).dirname(path);
  const entries = (env.PATH ?? env.Path ?? '').split(platform === 'win32' ? ';' : delimiter).filter(Boolean);
  const norm = (p: string): string => (platform === 'win32' ? p.replace(/[\\/]+$/, '').toLowerCase() : p.replace(/\/+$/, ''));
  return entries.some((e) => norm(e) === norm(dir));
}
