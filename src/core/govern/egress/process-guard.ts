import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { EndpointCheck } from '../../net/egress';
import { compileRules, DEFAULT_ALLOWED_ENDPOINTS, REFUSAL_HINT, stripBrackets, type EndpointRule } from '../../net/endpoints';
import { installSocketGuard, type SocketViolation } from '../../net/socket-guard';

/**
 * The egress guard of a whole process (or worker thread) the product starts: the CLI (also the serving
 * runtime `sovereign serve`, in a terminal, as the extension's supervised child and in the staging
 * container), the engine child and the core worker thread. Every TCP connection and UDP datagram of the
 * process is checked before it is opened (net, tls, http, https, fetch, dockerode, any dependency):
 * loopback always, plus the workspace policy's `endpoints.allowed` (default: private networks), plus the
 * Docker engine the user configured in DOCKER_HOST. Unix sockets are not egress and are never checked.
 * Refusals go to the egress ledger and, in a governed workspace, to its audit log. See docs/egress.md.
 *
 * Every Node child process inherits it through NODE_OPTIONS (`--require dist/egress-preload.js`), so a
 * child a dependency forks is guarded too. Never in the VS Code extension host's own thread: it would
 * govern every other extension's sockets.
 */

// The policy parser (ajv, yaml) and the audit log are loaded when first needed, not at start: every Node
// child of a guarded process loads this module through the preload, and most never open a socket.
/* eslint-disable @typescript-eslint/no-require-imports */
const policyModule = (): typeof import('../../policy/load') => require('../../policy/load') as typeof import('../../policy/load');
const egressModule = (): typeof import('../../net/egress') => require('../../net/egress') as typeof import('../../net/egress');
/* eslint-enable @typescript-eslint/no-require-imports */

/** As in src/core/workspace/workspace.ts (not imported: it would load yaml at start). */
const SOVEREIGN_DIR = '.sovereign';
const POLICY_FILE = `${SOVEREIGN_DIR}/policy.yaml`;

export interface ProcessEgressRules {
  /** Endpoints allowed beyond loopback (loopback is always allowed). */
  allowed: EndpointRule[];
  /** The governed workspace (a git top level with .sovereign/) whose policy applies and whose audit log records refusals. */
  workspace?: string;
  /** Where `allowed` comes from. */
  source: 'workspace policy' | 'default' | 'invalid workspace policy: loopback only';
  /** The DOCKER_HOST rule added, when DOCKER_HOST names a TCP or SSH engine. */
  dockerHost?: EndpointRule;
}

/** The git top level around `cwd` (the folder with `.git`, a folder or a worktree's file), as `git rev-parse --show-toplevel`. */
function gitTopLevel(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, '.git'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * The rule for the Docker engine the user configured: `DOCKER_HOST=tcp://10.0.0.5:2376` (or ssh://user@host,
 * http(s)://) names an engine they chose, so its address (or name) is allowed. A unix socket needs no rule.
 */
export function dockerHostRule(env: NodeJS.ProcessEnv = process.env): EndpointRule | undefined {
  const value = env.DOCKER_HOST?.trim();
  if (!value || /^(unix|npipe|fd):/i.test(value)) return undefined;
  try {
    const host = stripBrackets(new URL(value).hostname);
    if (!host) return undefined;
    compileRules([host]);
    return host;
  } catch {
    return undefined; // not a URL dockerode can use either
  }
}

/**
 * The endpoints this process may reach: read synchronously (a connection is being opened when this is
 * first asked) from the workspace around `cwd`, the same workspace `sovereign serve` and the registry
 * commands use. A policy that cannot be read or is malformed allows loopback only (fail closed).
 */
export function processEgressRules(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): ProcessEgressRules {
  const dockerHost = dockerHostRule(env);
  const withDocker = (rules: readonly EndpointRule[]): EndpointRule[] => [...rules, ...(dockerHost ? [dockerHost] : [])];
  const top = gitTopLevel(cwd);
  const workspace = top && existsSync(join(top, SOVEREIGN_DIR)) ? top : undefined;
  if (!workspace) return { allowed: withDocker(DEFAULT_ALLOWED_ENDPOINTS), source: 'default', dockerHost };
  let text: string;
  try {
    text = readFileSync(join(workspace, POLICY_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { allowed: withDocker(DEFAULT_ALLOWED_ENDPOINTS), workspace, source: 'default', dockerHost };
    return { allowed: withDocker([]), workspace, source: 'invalid workspace policy: loopback only', dockerHost };
  }
  try {
    const { allowedEndpoints, parsePolicy } = policyModule();
    const parsed = parsePolicy(text, POLICY_FILE);
    if (!parsed.policy) return { allowed: withDocker([]), workspace, source: 'invalid workspace policy: loopback only', dockerHost };
    return { allowed: withDocker(allowedEndpoints(parsed.policy)), workspace, source: 'workspace policy', dockerHost };
  } catch {
    return { allowed: withDocker([]), workspace, source: 'invalid workspace policy: loopback only', dockerHost };
  }
}

export interface ProcessGuardOptions {
  /** Where the policy is looked for (default: the current folder, when the first connection is opened). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Ignore any workspace: loopback and private networks (plus DOCKER_HOST). For the core worker thread. */
  noWorkspace?: boolean;
  /** Write one line per refusal to stderr (default true). */
  stderr?: boolean;
  /**
   * Put the guard's preload in NODE_OPTIONS of this process's environment, so every Node child process
   * (forked by the product or by a dependency) installs it too (default true; not for a worker thread).
   */
  propagate?: boolean;
}

let installed: { via: string; rules: () => ProcessEgressRules } | undefined;

/** The preload next to this module (dist/egress-preload.js in the bundles, out/.../egress-preload.js compiled). */
export function egressPreloadPath(): string | undefined {
  const file = join(__dirname, 'egress-preload.js');
  return existsSync(file) ? file : undefined;
}

function propagateToChildren(): void {
  const preload = egressPreloadPath();
  if (!preload) return;
  const current = process.env.NODE_OPTIONS ?? '';
  if (current.includes(preload)) return;
  process.env.NODE_OPTIONS = [current, `--require ${JSON.stringify(preload)}`].filter(Boolean).join(' ');
}

/**
 * Installs the process-wide guard once per process (or worker thread); later calls do nothing. `via`
 * names the process in the ledger (`socket:cli`, `socket:engine`, `socket:worker`). Synchronous and
 * cheap: the workspace policy is read when the first non-unix socket is opened.
 */
export function installProcessEgressGuard(via: string, options: ProcessGuardOptions = {}): void {
  if (installed) {
    // Installed by the inherited preload already: the entry point only gives the process its name.
    installed.via = via;
    return;
  }
  let cached: ProcessEgressRules | undefined;
  const rules = (): ProcessEgressRules => {
    if (!cached) {
      const env = options.env ?? process.env;
      cached = options.noWorkspace ? { allowed: [...DEFAULT_ALLOWED_ENDPOINTS, ...[dockerHostRule(env)].filter((r): r is string => !!r)], source: 'default', dockerHost: dockerHostRule(env) } : processEgressRules(options.cwd ?? process.cwd(), env);
    }
    return cached;
  };
  const state = { via, rules };
  installed = state;
  installSocketGuard({
    allowed: () => rules().allowed,
    onViolation: (v) => {
      try {
        onRefused(v, state.via, rules(), options.stderr ?? true);
      } catch {
        // Recording must never turn a refusal into a crash: the connection is refused all the same.
      }
    },
  });
  if (options.propagate ?? true) propagateToChildren();
}

/** The rules of the installed process guard, if any (for messages and tests). */
export function processGuardRules(): ProcessEgressRules | undefined {
  return installed?.rules();
}

function onRefused(v: SocketViolation, via: string, rules: ProcessEgressRules, stderr: boolean): void {
  const host = v.host ?? v.address ?? 'unknown';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const origin = `${v.kind}://${hostPart}${v.port ? `:${v.port}` : ''}`;
  const { recordEgress, refusalMessage } = egressModule();
  const check: EndpointCheck = {
    allowed: false,
    reason: refusalMessage(origin, v.address),
    address: v.address,
    addresses: v.address ? [v.address] : [],
    host,
    port: v.port ?? 0,
    origin,
  };
  if (rules.source !== 'default') check.reason += ` (${rules.source})`;
  // The ledger record is written synchronously; the audit entry follows (a failure stays in the ledger).
  recordEgress(check, { via: `socket:${via}`, audit: rules.workspace ? { root: rules.workspace } : undefined }).catch(() => undefined);
  if (stderr) process.stderr.write(`sovereign: egress guard: refused ${origin}: ${check.reason}\n  hint: ${REFUSAL_HINT}\n`);
}
