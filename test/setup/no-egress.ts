/**
 * Mocha ROOT HOOK plugin: for the whole test run, no connection leaves the machine.
 *
 * - In this process: the socket guard wraps net/tls/http/fetch sockets, UDP and DNS lookups. A connection
 *   to anything but loopback is refused at once (before a packet is sent) and recorded.
 * - In child processes: NODE_OPTIONS gets `--require <no-egress-preload>`, so every Node child that
 *   inherits the environment (the engine child, a spawned CLI) installs the same guard and appends its
 *   violations to a file this process reads.
 * - afterAll fails the run with the list of violations, from this process and its children.
 *
 * SOVEREIGN_TEST_EGRESS_ALLOW="172.17.0.0/16,..." adds endpoints (e.g. a local Docker bridge) for a run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { installSocketGuard, type SocketViolation } from '../../src/core/net/socket-guard';

const extraAllowed = (process.env.SOVEREIGN_TEST_EGRESS_ALLOW ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

const violations: SocketViolation[] = [];

installSocketGuard({
  allowed: extraAllowed,
  guardDns: true,
  onViolation: (v) => {
    violations.push(v);
    process.stderr.write(`no-egress: refused ${describeViolation({ ...v, stack: '' })}\n`);
  },
});

const violationsDir = mkdtempSync(join(tmpdir(), 'sovereign-no-egress-'));
const violationsFile = join(violationsDir, 'violations.jsonl');

/** The preload for Node children: the compiled .js next to this file, or the .ts through tsx. */
const isTs = extname(__filename) === '.ts';
const preload = join(__dirname, `no-egress-preload${isTs ? '.ts' : '.js'}`);

/**
 * An environment for a spawned Node child that keeps it under the guard. Children that inherit
 * process.env already are; use this when a test builds its own env (`env: withNoEgress({ PATH })`).
 */
export function withNoEgress(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const requires = [...(isTs ? [require.resolve('tsx/cjs')] : []), preload]
    .filter((r) => !(env.NODE_OPTIONS ?? '').includes(r))
    .map((r) => `--require ${JSON.stringify(r)}`);
  return {
    ...env,
    NODE_OPTIONS: [env.NODE_OPTIONS, ...requires].filter(Boolean).join(' '),
    SOVEREIGN_EGRESS_VIOLATIONS_FILE: violationsFile,
    ...(extraAllowed.length ? { SOVEREIGN_TEST_EGRESS_ALLOW: extraAllowed.join(',') } : {}),
  };
}

Object.assign(process.env, withNoEgress(process.env));

export function childViolations(): SocketViolation[] {
  let text = '';
  try {
    text = readFileSync(violationsFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SocketViolation);
}

export function describeViolation(v: SocketViolation & { argv?: string }): string {
  const target = [v.host, v.address && v.address !== v.host ? `(${v.address})` : '', v.port ? `port ${v.port}` : ''].filter(Boolean).join(' ');
  const who = v.pid === process.pid ? '' : ` in child ${v.pid}${v.argv ? ` [${v.argv}]` : ''}`;
  return `${v.kind} ${target}${who}${v.stack ? `\n      ${v.stack.split('\n').join('\n      ')}` : ''}`;
}

export const mochaHooks = {
  afterAll(): void {
    const all = [...violations, ...childViolations()];
    rmSync(violationsDir, { recursive: true, force: true });
    if (all.length === 0) return;
    throw new Error(
      `${all.length} connection(s) outside loopback during the tests (refused; tests must never leave the machine):\n` +
        all.map((v) => `  - ${describeViolation(v)}`).join('\n') +
        '\n  fix: use 127.0.0.1, or TEST-NET addresses with the egress guard in front; ' +
        'a local Docker bridge can be allowed with SOVEREIGN_TEST_EGRESS_ALLOW=172.17.0.0/16',
    );
  },
};
