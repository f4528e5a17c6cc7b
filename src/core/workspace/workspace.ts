import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../util/errors';

/**
 * The workspace layout (tracked in git unless noted):
 *   .sovereign/models/NAME/VERSION.yaml   one manifest per model version
 *   .sovereign/models/NAME/VERSION.sig    its OMS signature, when signed
 *   .sovereign/models/NAME/aliases.yaml   alias -> version for that model (mutable pointers)
 *   .sovereign/policy.yaml                policy-as-code
 *   .sovereign/audit.jsonl                audit log (hash-chained)
 *   .sovereign/audit.checkpoint.json      its signed head, when a signing key is at hand
 *   .sovereign/config.yaml                local settings such as `store:` (untracked, .gitignored)
 */
export const SOVEREIGN_DIR = '.sovereign';
export const MODELS_DIR = `${SOVEREIGN_DIR}/models`;
export const POLICY_FILE = `${SOVEREIGN_DIR}/policy.yaml`;
export const AUDIT_FILE = `${SOVEREIGN_DIR}/audit.jsonl`;
/** The signed head of the audit log (see src/core/audit/anchor.ts). */
export const AUDIT_CHECKPOINT_FILE = `${SOVEREIGN_DIR}/audit.checkpoint.json`;
export const CONFIG_FILE = `${SOVEREIGN_DIR}/config.yaml`;
export const ALIASES_FILE_NAME = 'aliases.yaml';

/** Repository-relative (forward-slash) paths of one model version's files. */
export function manifestRelPath(name: string, version: string): string {
  return `${MODELS_DIR}/${name}/${version}.yaml`;
}
export function signatureRelPath(name: string, version: string): string {
  return `${MODELS_DIR}/${name}/${version}.sig`;
}
export function aliasesRelPath(name: string): string {
  return `${MODELS_DIR}/${name}/${ALIASES_FILE_NAME}`;
}

/**
 * Where `cwd` stands: the ONE workspace lookup every front end uses. `root` is the git top level of `cwd`
 * (else `cwd` itself, `git: false`); the workspace is `governed` when that git repository holds `.sovereign/`
 * (a registry, a policy or an audit log). Outside a governed workspace nothing is audited or policy-checked
 * beyond the defaults, and nothing is written.
 */
export interface WorkspaceLocation {
  root: string;
  git: boolean;
  governed: boolean;
}

export async function locateWorkspace(cwd: string = process.cwd()): Promise<WorkspaceLocation> {
  const out = await new Promise<string | undefined>((done) => {
    execFile('git', ['rev-parse', '--show-toplevel'], { cwd, timeout: 5000, windowsHide: true }, (err, stdout) => done(err ? undefined : stdout.trim()));
  });
  if (!out) return { root: resolve(cwd), git: false, governed: false };
  const root = resolve(out);
  return { root, git: true, governed: existsSync(join(root, SOVEREIGN_DIR)) };
}

/** The workspace root for commands that need git (the registry): the git top level, else a usage error. */
export async function findWorkspaceRoot(cwd: string = process.cwd()): Promise<string> {
  const at = await locateWorkspace(cwd);
  if (!at.git) throw new UsageError(`not inside a git repository (${cwd})`, 'run `git init` then `sovereign registry init`');
  return at.root;
}

/** The governed workspace around `cwd`, or undefined (see locateWorkspace). */
export async function governedWorkspace(cwd: string = process.cwd()): Promise<string | undefined> {
  const at = await locateWorkspace(cwd);
  return at.governed ? at.root : undefined;
}

/**
 * Where artifacts are stored: SOVEREIGN_STORE, else `store:` in .sovereign/config.yaml (relative to the
 * workspace root), else ~/.cache/sovereign/store. The store must live outside the repository: weights
 * never go into git.
 */
export async function resolveStoreRoot(workspaceRoot: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let root: string | undefined = env.SOVEREIGN_STORE || undefined;
  if (!root && workspaceRoot) {
    const configured = await readConfig(workspaceRoot);
    if (configured.store) root = resolve(workspaceRoot, expandHome(configured.store));
  }
  root = resolve(expandHome(root ?? join(homedir(), '.cache', 'sovereign', 'store')));
  if (workspaceRoot) {
    const rel = relative(workspaceRoot, root);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
      throw new UsageError(
        `the artifact store ${root} is inside the repository ${workspaceRoot}`,
        'model weights must not go into git: set SOVEREIGN_STORE or `store:` in .sovereign/config.yaml to a folder outside the repository',
      );
    }
  }
  return root;
}

export interface WorkspaceConfig {
  store?: string;
}

export async function readConfig(workspaceRoot: string): Promise<WorkspaceConfig> {
  let text: string;
  try {
    text = await readFile(join(workspaceRoot, CONFIG_FILE), 'utf8');
  } catch {
    return {};
  }
  try {
    const value = parse(text) as unknown;
    if (value && typeof value === 'object' && typeof (value as WorkspaceConfig).store === 'string') return { store: (value as WorkspaceConfig).store };
    return {};
  } catch (err) {
    throw new UsageError(`${CONFIG_FILE}: invalid YAML (${(err as Error).message.split('\n')[0]})`, 'fix the file or delete it');
  }
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}
