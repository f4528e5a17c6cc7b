import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';
import { call } from '../core/serve/http-client';
import { CLI, REPO_ROOT } from '../helpers/cli';

/**
 * Every process the product ships installs the egress guard itself: the CLI (bin/sovereign.js ->
 * dist/cli.js), the serving runtime (`sovereign serve`), the engine child it forks (dist/engine-host.js)
 * and the core worker thread (dist/core-worker.js). These children run WITHOUT the test harness's
 * preload (test/setup/no-egress: the opposite of withNoEgress), so only the product's own guard stands
 * between them and the network.
 *
 * To make each process open a raw socket to a non-allowed address, a probe is preloaded instead (like any
 * dependency of the process could do): once the entry point has started, it connects to TEST-NET-3
 * (203.0.113.1, never routed) and to a loopback server, and writes the outcomes to a file. The guard must
 * refuse the TEST-NET connection before any packet is sent (EGRESS_REFUSED, at once) and record it in the
 * egress ledger (SOVEREIGN_EGRESS_LEDGER) and, in a governed workspace, in its audit log.
 */

const PROBE = String.raw`
const net = require('node:net');
const { appendFileSync } = require('node:fs');
const { basename } = require('node:path');
const { isMainThread } = require('node:worker_threads');
if (isMainThread) {
  const script = basename(process.argv[1] || '');
  const port = script === 'engine-host.js' ? 9102 : 9101;
  const report = (r) => appendFileSync(process.env.PROBE_OUT, JSON.stringify({ script, pid: process.pid, ...r }) + '\n');
  setImmediate(() => {
    const started = Date.now();
    const s = net.connect(port, '203.0.113.1');
    const timer = setTimeout(() => { report({ target: 'outside', port, outcome: 'NOT REFUSED (still connecting)' }); s.destroy(); }, 3000);
    s.on('connect', () => { clearTimeout(timer); report({ target: 'outside', port, outcome: 'CONNECTED' }); s.destroy(); });
    s.on('error', (e) => { clearTimeout(timer); report({ target: 'outside', port, outcome: e.code || e.message, ms: Date.now() - started }); });
    if (process.env.PROBE_LOOPBACK_PORT) {
      const l = net.connect(Number(process.env.PROBE_LOOPBACK_PORT), '127.0.0.1');
      l.on('connect', () => { report({ target: 'loopback', outcome: 'CONNECTED' }); l.destroy(); });
      l.on('error', (e) => report({ target: 'loopback', outcome: e.code || e.message }));
    }
  });
}
`;

interface ProbeResult { script: string; pid: number; target: string; port?: number; outcome: string; ms?: number }
interface LedgerRecord { origin: string; address?: string; port: number; allowed: boolean; via: string; pid?: number; reason: string }

function jsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

describe('egress guard in every shipped entry point (no test preload in the children)', function () {
  this.timeout(120_000);
  let dir: string;
  let probe: string;
  let loopback: Server;
  let loopbackPort: number;

  before(async function () {
    if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run "npm run build" first');
    dir = await mkdtemp(join(tmpdir(), 'sovereign-egress-entry-'));
    probe = join(dir, 'probe.cjs');
    await writeFile(probe, PROBE);
    loopback = createServer((c) => c.on('error', () => undefined).end());
    await new Promise<void>((r) => loopback.listen(0, '127.0.0.1', r));
    loopbackPort = (loopback.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((r) => loopback.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  /** The environment of a shipped process: the test harness's guard removed, the probe added. */
  function productEnv(name: string, extra: NodeJS.ProcessEnv = {}): { env: NodeJS.ProcessEnv; out: string; ledger: string } {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // the harness's --require no-egress-preload (withNoEgress): not here
    delete env.SOVEREIGN_EGRESS_VIOLATIONS_FILE;
    delete env.SOVEREIGN_TEST_EGRESS_ALLOW;
    delete env.DOCKER_HOST;
    const out = join(dir, `${name}.probe.jsonl`);
    const ledger = join(dir, `${name}.ledger.jsonl`);
    return { env: { ...env, NODE_OPTIONS: `--require ${JSON.stringify(probe)}`, PROBE_OUT: out, PROBE_LOOPBACK_PORT: String(loopbackPort), SOVEREIGN_EGRESS_LEDGER: ledger, ...extra }, out, ledger };
  }

  function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  function assertRefusedAtOnce(results: ProbeResult[], script: string, port: number): ProbeResult {
    const r = results.find((x) => x.script === script && x.target === 'outside');
    assert.ok(r, `the probe ran in ${script}: ${JSON.stringify(results)}`);
    assert.equal(r.outcome, 'EGRESS_REFUSED', `${script}: a connection to 203.0.113.1:${port} must be refused by the guard`);
    assert.equal(r.port, port);
    assert.ok((r.ms ?? 0) < 1000, 'refused before connecting, not after a timeout');
    return r;
  }

  it('the CLI: a socket to a non-allowed address is refused, recorded in the ledger, and the command still succeeds', async () => {
    const cwd = join(dir, 'plain');
    await mkdir(cwd);
    await writeFile(join(cwd, 'file.bin'), 'x');
    const { env, out, ledger } = productEnv('cli');
    const r = await run(['hash', 'file.bin'], cwd, env);
    assert.equal(r.code, 0, r.stderr);
    const results = jsonLines<ProbeResult>(out);
    const refused = assertRefusedAtOnce(results, 'sovereign.js', 9101);
    assert.deepEqual(results.filter((x) => x.target === 'loopback').map((x) => x.outcome), ['CONNECTED'], 'loopback stays allowed');
    const records = jsonLines<LedgerRecord>(ledger);
    assert.deepEqual(
      records.map((x) => ({ origin: x.origin, address: x.address, allowed: x.allowed, via: x.via, pid: x.pid })),
      [{ origin: 'tcp://203.0.113.1:9101', address: '203.0.113.1', allowed: false, via: 'socket:cli', pid: refused.pid }],
    );
    assert.match(r.stderr, /egress guard: refused tcp:\/\/203\.0\.113\.1:9101: endpoint tcp:\/\/203\.0\.113\.1:9101 is outside the allowed endpoints/);
    assert.match(r.stderr, /hint: add it to `endpoints.allowed` in \.sovereign\/policy\.yaml/);
  });

  it('the CLI in a governed workspace: the refusal is also in the audit log, under the workspace policy', async () => {
    const ws = join(dir, 'ws');
    await mkdir(join(ws, '.sovereign'), { recursive: true });
    execFileSync('git', ['init', '-q', ws]);
    await writeFile(join(ws, '.sovereign', 'policy.yaml'), 'version: 1\nendpoints:\n  allowed: ["10.0.0.0/8"]\n');
    await writeFile(join(ws, 'file.bin'), 'x');
    const { env, out, ledger } = productEnv('ws');
    const r = await run(['hash', 'file.bin'], ws, env);
    assert.equal(r.code, 0, r.stderr);
    assertRefusedAtOnce(jsonLines<ProbeResult>(out), 'sovereign.js', 9101);
    const [record] = jsonLines<LedgerRecord>(ledger);
    assert.match(record.reason, /\(workspace policy\)$/);
    const audit = jsonLines<{ action: string; subject: string; details: { via: string; address: string } }>(join(ws, '.sovereign', 'audit.jsonl'));
    assert.deepEqual(audit.map((e) => [e.action, e.subject, e.details.via, e.details.address]), [['egress-refused', 'tcp://203.0.113.1:9101', 'socket:cli', '203.0.113.1']]);
  });

  it('the CLI through a real path: `sovereign bench http://203.0.113.1:9/` is refused with exit 1 and a hint, recorded', async () => {
    const cwd = join(dir, 'plain');
    const { env, ledger } = productEnv('bench', { NODE_OPTIONS: '' });
    const r = await run(['bench', 'http://203.0.113.1:9/'], cwd, env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /endpoint http:\/\/203\.0\.113\.1:9 is outside the allowed endpoints/);
    assert.match(r.stderr, /hint: add it to `endpoints.allowed` in \.sovereign\/policy\.yaml/);
    assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/, 'no crash, no stack trace');
    const records = jsonLines<LedgerRecord>(ledger);
    assert.deepEqual(records.map((x) => [x.origin, x.allowed]), [['http://203.0.113.1:9', false]]);
  });

  it('the serving runtime (`sovereign serve`) and the engine child it forks: both refuse and record', async () => {
    const cwd = join(dir, 'serve');
    await mkdir(cwd);
    const model = await writeTinyLlama(join(cwd, 'tiny.gguf'));
    await writeFile(join(cwd, 'admin.token'), 'admin-secret-123456\n', { mode: 0o600 });
    const { env, out, ledger } = productEnv('serve');
    const child = spawn(process.execPath, [CLI, 'serve', '--model', model.path, '--port', '0', '--threads', '1', '--ctx', '256', '--admin-token-file', 'admin.token'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 600; i++) {
        const results = jsonLines<ProbeResult>(out);
        if (stdout.includes('\n') && results.some((x) => x.script === 'engine-host.js' && x.target === 'outside') && results.some((x) => x.script === 'sovereign.js' && x.target === 'outside')) break;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(stdout.includes('"url"'), `serve is ready: ${stderr}`);
      const results = jsonLines<ProbeResult>(out);
      const cli = assertRefusedAtOnce(results, 'sovereign.js', 9101);
      const engine = assertRefusedAtOnce(results, 'engine-host.js', 9102);
      assert.notEqual(cli.pid, engine.pid, 'two processes');
      // Every Node process of the runtime: node-llama-cpp forks its own script (testBindingBinary.js) from
      // the engine child; it inherits the guard through NODE_OPTIONS.
      const outside = results.filter((x) => x.target === 'outside');
      assert.deepEqual(outside.filter((x) => x.outcome !== 'EGRESS_REFUSED'), [], 'no process of the serving runtime may connect outside');
      assert.ok(results.filter((x) => x.target === 'loopback').every((x) => x.outcome === 'CONNECTED'));
      const records = jsonLines<LedgerRecord>(ledger);
      const refusedBy = (pid: number) => records.filter((x) => x.pid === pid && !x.allowed).map((x) => [x.origin, x.via]);
      assert.deepEqual(refusedBy(cli.pid), [['tcp://203.0.113.1:9101', 'socket:cli']]);
      assert.deepEqual(refusedBy(engine.pid), [['tcp://203.0.113.1:9102', 'socket:engine']]);

      // The runtime's own outbound path: a shadow-mirror target outside the allowed endpoints is refused.
      const { url } = JSON.parse(stdout.split('\n')[0]) as { url: string };
      const mirror = await call(url, 'PUT', '/admin/mirror', { target: 'http://203.0.113.1:9', share: 1 }, { authorization: 'Bearer admin-secret-123456' });
      assert.equal(mirror.status, 400, mirror.text);
      assert.match(mirror.text, /refused: endpoint http:\/\/203\.0\.113\.1:9 is outside the allowed endpoints/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('the core worker thread: its own sockets are guarded, the hosting thread (the extension host) is left alone', async () => {
    const script = String.raw`
      const net = require('node:net');
      const { Worker } = require('node:worker_threads');
      const before = net.Socket.prototype.connect;
      const worker = new Worker(
        "require(" + JSON.stringify(process.argv[1]) + ");" +
        "const net = require('node:net'); const { parentPort } = require('node:worker_threads');" +
        "const s = net.connect(9103, '203.0.113.1');" +
        "s.on('error', (e) => parentPort.postMessage({ outcome: e.code }));" +
        "s.on('connect', () => { s.destroy(); parentPort.postMessage({ outcome: 'CONNECTED' }); });",
        { eval: true });
      worker.on('message', (m) => {
        console.log(JSON.stringify({ ...m, hostThreadPatched: net.Socket.prototype.connect !== before }));
        worker.terminate();
      });
      worker.on('error', (e) => { console.log(JSON.stringify({ error: String(e) })); });
    `;
    const { env, ledger } = productEnv('worker', { NODE_OPTIONS: '' });
    const stdout = execFileSync(process.execPath, ['-e', script, join(REPO_ROOT, 'dist', 'core-worker.js')], { env, encoding: 'utf8', timeout: 30_000 });
    assert.deepEqual(JSON.parse(stdout.trim()), { outcome: 'EGRESS_REFUSED', hostThreadPatched: false });
    const records = jsonLines<LedgerRecord>(ledger);
    assert.deepEqual(records.map((x) => [x.origin, x.allowed, x.via]), [['tcp://203.0.113.1:9103', false, 'socket:worker']]);
  });
});
