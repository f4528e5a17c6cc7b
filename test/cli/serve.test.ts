import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';
import { call } from '../core/serve/http-client';
import { REPO_ROOT } from '../helpers/cli';

const CLI = join(REPO_ROOT, 'bin', 'sovereign.js');

function runCli(args: string[]): { child: ReturnType<typeof spawn>; stdout: () => string; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

describe('sovereign serve (the CLI, bundled)', function () {
  this.timeout(90000);
  let dir: string;
  before(async function () {
    if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run "node esbuild.mjs" first');
    dir = await mkdtemp(join(tmpdir(), 'sovereign-cli-serve-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('prints the URL as a JSON line on stdout once ready, serves, and stops cleanly on SIGTERM', async () => {
    const info = await writeTinyLlama(join(dir, 'tiny.gguf'));
    const run = runCli(['serve', '--model', info.path, '--port', '0', '--threads', '1', '--ctx', '256']);
    for (let i = 0; i < 600 && !run.stdout().includes('\n'); i++) await new Promise((r) => setTimeout(r, 100));
    const line = JSON.parse(run.stdout().split('\n')[0]) as { url: string; port: number; model: string; kind: string };
    assert.match(line.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(line.kind, 'gguf');
    assert.equal((await call(line.url, 'GET', '/health')).status, 200);
    const reply = await call(line.url, 'POST', '/v1/completions', { prompt: 'Hello', max_tokens: 4, temperature: 0 });
    assert.equal(reply.json<{ choices: { text: string }[] }>().choices[0].text, info.expectedCompletion('Hello', 4));
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0);
    assert.match(run.stderr(), /listening on/);
  });

  it('exits 1 and names the rule for a model that fails validation, before listening', async () => {
    const bad = await writeTinyLlama(join(dir, 'bad.gguf'), { omitKeys: ['llama.feed_forward_length'] });
    const run = runCli(['serve', '--model', bad.path, '--port', '0']);
    assert.equal(await run.exit, 1);
    assert.equal(run.stdout(), '');
    assert.match(run.stderr(), /gguf\/missing-key/);
    assert.doesNotMatch(run.stderr(), /listening/);
  });
});
