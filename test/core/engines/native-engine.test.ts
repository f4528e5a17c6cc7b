import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readlink, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EngineCrashedError, openEngine, prepareEngine, type OpenedEngine } from '../../../src/core/engines';
import { bundleCommit, readNativeBuild } from '../../../src/core/engines/native/builds';
import { nativeWrappers } from '../../../src/core/engines/native/llama-server-process';
import { buildFimPrompt, getFimTemplate } from '../../../src/core/fim/templates';
import { writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { requireLlamaServer } from '../../helpers/llama-server';

/** The pids of `pid`'s llama-server children (run from source, the engine host also has an esbuild child). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, comm]) => comm === 'llama-server')
      .map(([p]) => Number(p));
  } catch {
    return [];
  }
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('GGUF engine on a native llama.cpp build (llama-server built from the bundled source, real)', function () {
  this.timeout(120000);
  let dir: string;
  let builds: string;
  let info: TinyLlamaInfo;
  let native: OpenedEngine;
  let prebuilt: OpenedEngine;

  before(async function () {
    const binary = requireLlamaServer(this);
    // scripts/llama-server/build.sh = `sovereign engine build` into .cache/llama-server: <builds>/<commit>/bin/llama-server.
    builds = dirname(dirname(dirname(binary)));
    const build = await readNativeBuild(dirname(dirname(binary)));
    assert.ok(build, `${dirname(dirname(binary))} has no build.json: rebuild with scripts/llama-server/build.sh`);
    assert.equal(build.record.commit, await bundleCommit(), 'the CI build is of the bundled llama.cpp commit');
    dir = await mkdtemp(join(tmpdir(), 'sovereign-native-'));
    info = await writeTinyLlama(join(dir, 'tiny.gguf'), { fim: true, chatTemplate: true });
    native = await openEngine(info.path, {
      load: { threads: 1, sequences: 2, contextSize: 512, llamaCpp: 'native', llamaCppBuilds: builds },
      supervisor: { restartDelayMs: 50 },
    });
    prebuilt = await openEngine(info.path, { load: { threads: 1, sequences: 1, contextSize: 512, llamaCpp: 'prebuilt', llamaCppBuilds: builds } });
  });

  after(async () => {
    await native?.engine.stop();
    await prebuilt?.engine.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs the native build, checked against its recorded sha256, and says so', async () => {
    const d = native.description;
    assert.equal(d.llamaCpp?.build, 'native');
    assert.equal(d.llamaCpp?.backend, 'cpu');
    const record = JSON.parse(await readFile(join(dirname(dirname(d.llamaCpp!.binary!)), 'build.json'), 'utf8')) as { sha256: string };
    assert.equal(d.llamaCpp?.sha256, record.sha256);
    assert.equal(d.versions['llama.cpp'], (await bundleCommit()).slice(0, 7));
    assert.equal(d.infill, 'native');
    assert.equal(d.hasChatTemplate, true);
    assert.equal(d.vocabularySize, info.vocabSize);
    assert.equal(d.sequences, 2);
    assert.equal(d.contextSize, 512);
    assert.equal(prebuilt.description.llamaCpp?.build, 'prebuilt');
  });

  it('completes exactly what greedy decoding predicts, streamed or not', async () => {
    const plain = await native.engine.complete({ prompt: 'Hello', maxTokens: 10, temperature: 0 });
    assert.equal(plain.text, info.expectedCompletion('Hello', 10));
    assert.equal(plain.generatedTokens, 10);
    assert.equal(plain.stopReason, 'max-tokens');
    const pieces: string[] = [];
    const streamed = await native.engine.complete({ prompt: 'Hello', maxTokens: 10, temperature: 0 }, { onToken: (t) => pieces.push(t) });
    assert.equal(streamed.text, plain.text);
    assert.equal(pieces.join(''), plain.text);
    assert.ok(pieces.length > 1, 'streamed in pieces');
  });

  it('fills in the middle with the same tokens as the prebuilt engine, reusing the cache of the previous keystroke', async () => {
    const prefix = 'def add(a, b):\n    return';
    const first = await native.engine.infill({ prefix, suffix: '\n\nprint(add(1, 2))\n', prompt: ' a', maxTokens: 8, temperature: 0 });
    const reference = await prebuilt.engine.infill({ prefix, suffix: '\n\nprint(add(1, 2))\n', prompt: ' a', maxTokens: 8, temperature: 0 });
    assert.equal(first.text, reference.text);
    assert.equal(first.text, info.expectedInfill(prefix, '', 8));
    const next = await native.engine.infill({ prefix, suffix: '\n\nprint(add(1, 2))\n', prompt: ' a ', maxTokens: 8, temperature: 0 });
    assert.ok((next.cachedTokens ?? 0) > 0, `the next keystroke reuses the KV cache (cached ${next.cachedTokens} of ${next.promptTokens})`);
  });

  it('fills in the middle through the family template for a code model without FIM tokens, as the prebuilt engine does', async () => {
    const qwen = await writeTinyLlama(join(dir, 'qwen.gguf'), { fim: false, name: 'Qwen2.5-Coder-tiny' });
    const opened = await openEngine(qwen.path, { load: { threads: 1, contextSize: 512, llamaCpp: 'native', llamaCppBuilds: builds } });
    try {
      assert.equal(opened.description.infill, 'template');
      assert.equal(opened.description.fimFamily, 'qwen2.5-coder');
      const result = await opened.engine.infill({ prefix: 'def f(', suffix: '):', maxTokens: 6 });
      assert.equal(result.text, qwen.expectedCompletion(buildFimPrompt(getFimTemplate('qwen2.5-coder')!, { prefix: 'def f(', suffix: '):' }), 6));
    } finally {
      await opened.engine.stop();
    }
  });

  it('counts tokens as the prebuilt engine does and chats with the model\'s own template', async () => {
    assert.equal(await native.engine.tokenCount('Hello world'), await prebuilt.engine.tokenCount('Hello world'));
    const reply = await native.engine.chat({ messages: [{ role: 'user', content: 'Hi' }], maxTokens: 5, temperature: 0 });
    const reference = await prebuilt.engine.chat({ messages: [{ role: 'user', content: 'Hi' }], maxTokens: 5, temperature: 0 });
    assert.equal(reply.generatedTokens, reference.generatedTokens);
    assert.equal(reply.text, reference.text);
  });

  it('sends generation straight to llama-server\'s socket; through the engine host\'s IPC the results are the same', async () => {
    const before = native.engine.tokenMessages;
    const pieces: string[] = [];
    const direct = await native.engine.complete({ prompt: 'Hello', maxTokens: 6, temperature: 0 }, { onToken: (t) => pieces.push(t) });
    assert.equal(native.engine.tokenMessages, before, 'no token crossed the engine host\'s IPC');
    assert.ok(pieces.length > 1);
    const viaHost = await openEngine(info.path, {
      load: { threads: 1, contextSize: 512, llamaCpp: 'native', llamaCppBuilds: builds },
      supervisor: { directNative: false },
    });
    try {
      const relayed: string[] = [];
      const through = await viaHost.engine.complete({ prompt: 'Hello', maxTokens: 6, temperature: 0 }, { onToken: (t) => relayed.push(t) });
      assert.equal(through.text, direct.text);
      assert.ok(viaHost.engine.tokenMessages > 0, 'the tokens crossed the IPC');
      const infill = { prefix: 'x = ', suffix: '\n', maxTokens: 4, temperature: 0 };
      assert.equal((await viaHost.engine.infill(infill)).text, (await native.engine.infill(infill)).text);
      assert.equal(await viaHost.engine.tokenCount('Hello world'), await native.engine.tokenCount('Hello world'));
    } finally {
      await viaHost.engine.stop();
    }
  });

  it('stops a generation when the caller cancels it', async () => {
    const controller = new AbortController();
    let seen = 0;
    const result = await native.engine.complete({ prompt: 'Hello', maxTokens: 400, temperature: 0 }, {
      signal: controller.signal,
      onToken: () => {
        if (++seen === 3) controller.abort();
      },
    }).catch((err: Error) => err);
    if (result instanceof Error) assert.match(result.message, /cancel|abort/i);
    else assert.ok(result.generatedTokens < 400, 'it stopped early');
    // The engine serves the next request.
    const after = await native.engine.complete({ prompt: 'Hello', maxTokens: 4, temperature: 0 });
    assert.equal(after.text, info.expectedCompletion('Hello', 4));
  });

  it('runs llama-server with no network where the kernel allows it, and ends it with its engine', async function () {
    const enginePid = native.engine.pid;
    assert.ok(enginePid);
    const [serverPid] = childrenOf(enginePid);
    assert.ok(serverPid, 'llama-server runs as the engine host\'s child');
    const isolation = native.description.llamaCpp?.isolation;
    assert.equal(isolation, nativeWrappers().isolation);
    if (isolation === 'network-namespace') {
      assert.notEqual(await readlink(`/proc/${serverPid}/ns/net`), await readlink('/proc/self/ns/net'), 'another network namespace');
      const devices = (await readFile(`/proc/${serverPid}/net/dev`, 'utf8')).split('\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean);
      assert.deepEqual(devices, ['lo'], 'no interface but an unconfigured loopback');
    } else {
      process.stderr.write('      note: user namespaces are unavailable here: llama-server runs without network isolation (reported as isolation none)\n');
    }
  });

  it('restarts after llama-server dies, and serves again', async () => {
    const enginePid = native.engine.pid!;
    const [serverPid] = childrenOf(enginePid);
    const restarted = new Promise((resolve) => native.engine.once('restart', resolve));
    // A generation in flight fails as a crash (not a hang), then the engine comes back.
    let seen = 0;
    const inFlight = native.engine.complete({ prompt: 'Hello', maxTokens: 400, temperature: 0 }, {
      onToken: () => {
        if (++seen === 3) process.kill(serverPid, 'SIGKILL');
      },
    });
    await assert.rejects(inFlight, (err: Error) => err instanceof EngineCrashedError && /killed by SIGKILL|status/.test(err.message));
    await restarted;
    await native.engine.whenSettled();
    const result = await native.engine.complete({ prompt: 'Hello', maxTokens: 4, temperature: 0 });
    assert.equal(result.text, info.expectedCompletion('Hello', 4));
    const newPid = native.engine.pid!;
    assert.notEqual(newPid, enginePid);
    await waitFor('the old llama-server to be gone', () => (childrenOf(enginePid).length === 0 ? true : undefined));
  });

  it('ends llama-server when its engine host is killed outright (no orphan keeps the model)', async function () {
    if (!nativeWrappers().prefix.includes('setpriv')) {
      process.stderr.write('      note: setpriv is missing: this check needs it\n');
      this.skip();
    }
    const enginePid = native.engine.pid!;
    const [serverPid] = childrenOf(enginePid);
    const restarted = new Promise((resolve) => native.engine.once('restart', resolve));
    process.kill(enginePid, 'SIGKILL');
    await waitFor('llama-server to end with its parent', () => {
      try {
        process.kill(serverPid, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    await restarted;
    await native.engine.whenSettled();
  });

  it('refuses a native build whose binary changed after it was built, naming the fix', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'sovereign-builds-'));
    try {
      const commit = await bundleCommit();
      await cp(join(builds, commit), join(copy, commit), { recursive: true });
      await appendFile(join(copy, commit, 'bin', 'llama-server'), Buffer.from([0]));
      await assert.rejects(
        openEngine(info.path, { load: { threads: 1, contextSize: 256, llamaCppBuilds: copy } }),
        (err: Error & { hint?: string }) => /changed after the build/.test(err.message) && /engine build/.test(err.hint ?? ''),
      );
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('uses the prebuilt engine under auto when no native build exists, and refuses native then', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'sovereign-builds-'));
    try {
      const opened = await openEngine(info.path, { load: { threads: 1, contextSize: 256, llamaCppBuilds: empty } });
      try {
        assert.equal(opened.description.llamaCpp?.build, 'prebuilt');
      } finally {
        await opened.engine.stop();
      }
      await assert.rejects(
        openEngine(info.path, { load: { threads: 1, contextSize: 256, llamaCpp: 'native', llamaCppBuilds: empty } }),
        (err: Error & { hint?: string }) => /no native llama.cpp build/.test(err.message) && /engine build/.test(err.hint ?? ''),
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('loads only the validated bytes: a file changed after validation is refused before llama-server sees it', async () => {
    const path = join(dir, 'changed.gguf');
    await writeFile(path, await readFile(info.path));
    const prepared = await prepareEngine(path, {});
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(path, bytes);
    await assert.rejects(prepared.load({ threads: 1, contextSize: 256, llamaCpp: 'native', llamaCppBuilds: builds }), /sha256|validated/);
  });
});
