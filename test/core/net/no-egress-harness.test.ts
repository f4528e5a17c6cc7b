import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';

/**
 * The test harness itself (test/setup/no-egress): a mocha run whose tests try to leave the machine must
 * fail, naming every attempt, whether it came from the test process or from a Node child it spawned.
 */
describe('no-egress test harness', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-harness-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const isTs = extname(__filename) === '.ts';
  const harness = resolve(__dirname, '../../setup', `no-egress${isTs ? '.ts' : '.js'}`);

  function runMocha(spec: string): Promise<{ code: number; output: string }> {
    const args = [require.resolve('mocha/bin/mocha.js'), '--no-config', ...(isTs ? ['--require', 'tsx/cjs'] : []), '--require', harness, '--reporter', 'dot', spec];
    // A clean environment: the outer run's own guard settings must not leak into the inner run.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    delete env.SOVEREIGN_EGRESS_VIOLATIONS_FILE;
    return new Promise((ok) => {
      execFile(process.execPath, args, { cwd: resolve(__dirname, '../../..'), env }, (err, stdout, stderr) =>
        ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
      );
    });
  }

  it('fails the run and lists connections outside loopback, in the process and in children', async () => {
    const spec = join(dir, 'leaky.spec.js');
    await writeFile(
      spec,
      `const net = require('node:net');
       const { execFileSync } = require('node:child_process');
       describe('leaky', () => {
         it('tries TEST-NET-1 and is refused at once', (done) => {
           const s = net.connect(80, '192.0.2.1');
           s.on('error', (e) => { if (e.code !== 'EGRESS_REFUSED') return done(e); done(); });
           s.on('connect', () => done(new Error('connected')));
         });
         it('spawns a node child that tries TEST-NET-2', () => {
           execFileSync(process.execPath, ['-e', "require('node:net').connect(81, '198.51.100.1').on('error', () => {})"]);
         });
       });`,
    );
    const { code, output } = await runMocha(spec);
    assert.notEqual(code, 0, output);
    assert.match(output, /2 passing/, output);
    assert.match(output, /2 connection\(s\) outside loopback/);
    assert.match(output, /192\.0\.2\.1 port 80/);
    assert.match(output, /198\.51\.100\.1 port 81 in child \d+/);
  });

  it('passes a run that stays on loopback', async () => {
    const spec = join(dir, 'clean.spec.js');
    await writeFile(
      spec,
      `const net = require('node:net');
       describe('clean', () => {
         it('talks to 127.0.0.1', (done) => {
           const server = net.createServer((c) => c.end('x')).listen(0, '127.0.0.1', () => {
             net.connect(server.address().port, '127.0.0.1').on('data', () => { server.close(); done(); });
           });
         });
       });`,
    );
    const { code, output } = await runMocha(spec);
    assert.equal(code, 0, output);
    assert.match(output, /1 passing/);
  });
});
