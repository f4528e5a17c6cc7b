import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine, validateModelFile, EngineCrashedError, EngineSupervisor, type OpenedEngine } from '../../../src/core/engines';
import { OnnxEngine } from '../../../src/core/engines/onnx/onnx-engine';
import { pinModelFile } from '../../../src/core/engines/pinned';
import { FRAUD_FEATURE_COUNT, syntheticFraudData } from '../../fixtures/onnx/fraudData';
import { predictMlp, writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { writeAbortingLlama } from './abort-model';

/** Replaces `path` by `other` the way a download or a copy would (rename over it: a new inode). */
async function swap(path: string, other: string): Promise<void> {
  await copyFile(other, `${path}.new`);
  await rename(`${path}.new`, path);
}

const REFUSED_CHANGED = /refused to load .*: its sha256 is now [0-9a-f]{64}, not the [0-9a-f]{64} that was validated; nothing was loaded/;

describe('the engine loads exactly the bytes that were validated (digest checked in the engine process)', function () {
  this.timeout(90_000);
  let dir: string;
  // The swapped-in file aborts llama.cpp if it is ever natively loaded (GGML_ASSERT): a refusal instead of
  // an EngineCrashedError proves no native load happened.
  let aborting: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-pinned-'));
    aborting = join(dir, 'aborting.gguf');
    await writeAbortingLlama(aborting);
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('GGUF: a file replaced between validation and start is refused by the engine, nothing loaded', async () => {
    const path = join(dir, 'swap-before-start.gguf');
    await writeTinyLlama(path);
    const validated = await validateModelFile(path, { gate: null });
    await swap(path, aborting);
    const engine = new EngineSupervisor({ healthIntervalMs: 0 });
    try {
      await assert.rejects(engine.start({ path, kind: 'gguf', sha256: validated.sha256, options: { threads: 1, contextSize: 64 } }), (err: Error) => {
        assert.ok(!(err instanceof EngineCrashedError), `the swapped file reached llama.cpp: ${err.message}`);
        assert.equal(err.name, 'RefusedError');
        assert.match(err.message, REFUSED_CHANGED);
        return true;
      });
      assert.equal(engine.state, 'failed');
      assert.equal(engine.description, undefined);
    } finally {
      await engine.stop();
    }
  });

  it('GGUF: after a crash (SIGKILL) the restart hashes again; a swapped file is refused and the supervisor reports it', async () => {
    const path = join(dir, 'swap-before-restart.gguf');
    const info = await writeTinyLlama(path);
    let opened: OpenedEngine | undefined;
    try {
      opened = await openEngine(path, { gate: null, load: { threads: 1, contextSize: 128 }, supervisor: { restartDelayMs: 50, healthIntervalMs: 0 } });
      const { engine } = opened;
      assert.equal((await engine.complete({ prompt: 'Hello', maxTokens: 3 })).text, info.expectedCompletion('Hello', 3));
      const restarts: number[] = [];
      engine.on('restart', (r) => restarts.push(r.attempt));
      const failed = new Promise<Error>((resolve) => engine.once('restartFailed', ({ error }) => resolve(error)));
      await swap(path, aborting);
      process.kill(engine.pid!, 'SIGKILL');
      const error = await failed;
      assert.ok(!(error instanceof EngineCrashedError), `the swapped file reached llama.cpp: ${error.message}`);
      assert.match(error.message, REFUSED_CHANGED);
      assert.equal(engine.state, 'failed');
      assert.deepEqual(restarts, [1], 'one restart, refused, and not retried');
      assert.equal(engine.lastFailure, error);
      assert.equal(engine.exits[0].signal, 'SIGKILL');
      assert.ok(engine.exits.every((e) => e.signal !== 'SIGABRT' && e.code !== 134), 'the restarted child refused the load, it did not crash in llama.cpp');
      await assert.rejects(engine.complete({ prompt: 'Hello', maxTokens: 1 }), /the engine is failed: its restart after a crash could not load the model: refused to load/);
    } finally {
      await opened?.engine.stop();
    }
  });

  it('GGUF: the same bytes restart normally (the check does not get in the way)', async () => {
    const path = join(dir, 'same.gguf');
    const info = await writeTinyLlama(path);
    const opened = await openEngine(path, { gate: null, load: { threads: 1, contextSize: 128 }, supervisor: { restartDelayMs: 50, healthIntervalMs: 0 } });
    try {
      assert.equal(opened.description.path, path, 'the description names the file, not the descriptor it was loaded from');
      assert.equal(opened.description.name, 'sovereign-tiny-llama');
      const restarted = new Promise((resolve) => opened.engine.once('restart', resolve));
      process.kill(opened.engine.pid!, 'SIGKILL');
      await restarted;
      await opened.engine.whenSettled();
      assert.equal(opened.engine.state, 'ready');
      assert.equal((await opened.engine.complete({ prompt: 'Hello', maxTokens: 3 })).text, info.expectedCompletion('Hello', 3));
    } finally {
      await opened.engine.stop();
    }
  });

  it('ONNX: a model replaced after validation is refused in the engine process; the validated one runs from the hashed bytes', async () => {
    const path = join(dir, 'fraud.onnx');
    const model = await writeMlpClassifier(path);
    const other = await writeMlpClassifier(join(dir, 'other', 'fraud.onnx'), { trainSeed: 2 });
    const validated = await validateModelFile(path, { gate: null });
    await swap(path, other.path);
    const engine = new EngineSupervisor({ healthIntervalMs: 0 });
    try {
      await assert.rejects(engine.start({ path, kind: 'onnx', sha256: validated.sha256 }), (err: Error) => err.name === 'RefusedError' && REFUSED_CHANGED.test(err.message));
      assert.equal(engine.description, undefined);
    } finally {
      await engine.stop();
    }
    // The validated bytes again (the writer is deterministic): they load, from memory, and compute the reference.
    await writeMlpClassifier(path);
    const ok = new EngineSupervisor({ healthIntervalMs: 0 });
    try {
      await ok.start({ path, kind: 'onnx', sha256: validated.sha256 });
      const data = syntheticFraudData(4, 3);
      const result = await ok.predict({ [model.inputName]: { type: 'float32', dims: [data.n, FRAUD_FEATURE_COUNT], data: Array.from(data.features) } });
      const want = predictMlp(model.weights, data.features, data.n);
      result.outputs.probabilities.data.forEach((p, i) => assert.ok(Math.abs(p - want.probabilities[i]) < 1e-4));
    } finally {
      await ok.stop();
    }
  });

  it('ONNX with an external data file still loads (by path), and in process through loadVerified', async () => {
    const model = await writeMlpClassifier(join(dir, 'ext', 'model.onnx'), { externalDataLocation: 'weights/model.bin' });
    const validated = await validateModelFile(model.path, { gate: null });
    const engine = new EngineSupervisor({ healthIntervalMs: 0 });
    try {
      const d = await engine.start({ path: model.path, kind: 'onnx', sha256: validated.sha256 });
      assert.equal(d.inputs?.[0].name, model.inputName);
    } finally {
      await engine.stop();
    }
    await assert.rejects(OnnxEngine.loadVerified(model.path, '0'.repeat(64)), REFUSED_CHANGED);
  });

  it('pinModelFile: loads through /proc/self/fd on Linux, and an in-place write after the hash is caught', async () => {
    const path = join(dir, 'pin.gguf');
    await writeTinyLlama(path);
    const validated = await validateModelFile(path, { gate: null });
    const pinned = await pinModelFile(path, validated.sha256);
    try {
      if (process.platform === 'linux') assert.match(pinned.loadPath, /^\/proc\/self\/fd\/\d+$/);
      await pinned.verifyUnchanged(false);
      await appendFile(path, Buffer.from('more'));
      await assert.rejects(pinned.verifyUnchanged(false), /changed while the engine loaded it/);
    } finally {
      await pinned.close();
    }
  });
});
