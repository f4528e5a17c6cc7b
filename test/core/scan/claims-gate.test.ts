import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateModelFile } from '../../../src/core/engines/validate';
import { addModel, AdmissionRefused } from '../../../src/core/govern/admission';
import { reportBlocks, scanPaths } from '../../../src/core/scan/scanner';
import { RefusedError } from '../../../src/core/util/errors';
import { runCli } from '../../helpers/cli';
import { tempDir } from '../../helpers/tmp';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';
import { makeRepo, type TestRepo } from '../registry/repo';

function noise(size = 4096): Buffer {
  const b = randomBytes(size);
  b[0] = 0x01;
  b[b.length - 1] = 0x00;
  return b;
}

describe('the gate fails closed on a file named like a model that is not one (scan, registration, loading)', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let fakeOnnx: string;
  let onnxAsGguf: string;
  before(async () => {
    dir = await tempDir();
    fakeOnnx = join(dir.path, 'fake.onnx');
    await writeFile(fakeOnnx, noise());
    const onnx = await writeMlpClassifier(join(dir.path, 'real', 'mlp.onnx'));
    onnxAsGguf = join(dir.path, 'model.gguf');
    await copyFile(onnx.path, onnxAsGguf);
  });
  after(() => dir.cleanup());

  it('sovereign scan: BLOCKED and exit 1 for random bytes named .onnx; a plain text file alone stays OK (exit 0)', async () => {
    const r = await runCli(['scan', fakeOnnx]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^BLOCKED\s+.*fake\.onnx\s+\(unknown; 1 high\)/m);
    assert.match(r.stdout, /format\/unknown: named as ONNX \(\.onnx\), but its bytes are not recognised/);
    const json = await runCli(['scan', '--format', 'json', onnxAsGguf]);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as { files: { format: string; findings: { rule: string; severity: string }[] }[] };
    assert.equal(parsed.files[0].format, 'onnx');
    assert.deepEqual(parsed.files[0].findings.map((f) => `${f.rule}:${f.severity}`), ['format/mismatch:high']);
    await writeFile(join(dir.path, 'notes.txt'), 'just text\n');
    const text = await runCli(['scan', join(dir.path, 'notes.txt')]);
    assert.equal(text.code, 0, text.stdout);
    assert.match(text.stdout, /^OK\s+.*notes\.txt\s+\(unknown\)/m);
  });

  it('a model folder: README, config and tokenizer files are normal; the one disguised file blocks the folder', async () => {
    const folder = join(dir.path, 'hf-model');
    await mkdir(folder);
    await writeFile(join(folder, 'README.md'), '# tiny\n');
    await writeFile(join(folder, 'LICENSE'), 'MIT\n');
    await writeFile(join(folder, 'config.json'), '{"model_type": "llama"}\n');
    await writeFile(join(folder, 'tokenizer.json'), '{"model": {}}\n');
    await writeFile(join(folder, 'tokenizer.model'), noise(512));
    await writeFile(join(folder, 'params.yaml'), 'lr: 0.1\n');
    const clean = await scanPaths([folder]);
    assert.equal(reportBlocks(clean), false);
    assert.deepEqual(clean.files.flatMap((f) => f.findings), []);
    await writeFile(join(folder, 'model.safetensors'), Buffer.from('PK\x03\x04 this is not safetensors', 'latin1'));
    const dirty = await scanPaths([folder]);
    assert.equal(reportBlocks(dirty), true);
    const bad = dirty.files.find((f) => f.path.endsWith('model.safetensors'))!;
    assert.ok(bad.findings.some((f) => f.rule.startsWith('format/') && f.severity === 'high'), JSON.stringify(bad.findings));
  });

  it('loading: the engine gate refuses a .gguf whose bytes are ONNX, and random bytes named .onnx, before any native loader', async () => {
    await assert.rejects(validateModelFile(onnxAsGguf, { gate: null }), (err: Error) => {
      assert.ok(err instanceof RefusedError, String(err));
      assert.match(err.message, /rule format\/mismatch \(high\): named as GGUF \(\.gguf\), but its bytes are an onnx file/);
      assert.match(err.message, /before any native code saw it/);
      return true;
    });
    await assert.rejects(validateModelFile(fakeOnnx, { gate: null }), /rule format\/unknown \(high\)/);
    const real = await writeTinyLlama(join(dir.path, 'tiny.gguf'));
    assert.equal((await validateModelFile(real.path, { gate: null })).format, 'gguf');
  });

  describe('registration (registry add)', () => {
    let repo: TestRepo;
    before(async () => (repo = await makeRepo()));
    after(() => repo.cleanup());

    it('refuses a model folder holding a .pt that is plain text, at the scan stage, and commits nothing', async () => {
      const head = repo.git('rev-parse', 'HEAD');
      await repo.write('../incoming/config.json', '{"a": 1}\n');
      const input = await repo.write('../incoming/model.pt', 'this is plain text, not a checkpoint\n');
      let refused: unknown;
      try {
        await addModel(repo.root, { input: join(input, '..'), name: 'fake', version: '1.0.0' });
      } catch (e) {
        refused = e;
      }
      assert.ok(refused instanceof AdmissionRefused, String(refused));
      assert.equal(refused.stage, 'scan');
      assert.equal(refused.exitCode, 1);
      assert.deepEqual(refused.findings.map((f) => f.path), ['model.pt']);
      assert.ok(refused.findings[0].findings.some((f) => f.rule === 'format/unknown' && f.severity === 'high'));
      assert.equal(repo.git('rev-parse', 'HEAD'), head);
    });
  });
});
