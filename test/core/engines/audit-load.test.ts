import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readAudit } from '../../../src/core/audit/log';
import { verifyWorkspaceAudit as verifyAudit } from '../../../src/core/govern/audit-verify';
import { sha256File } from '../../../src/core/hash/sha256';
import { openEngine } from '../../../src/core/engines';
import { evaluateModel } from '../../../src/core/eval/evaluate';
import { writeFraudCsv } from '../../fixtures/onnx/fraudData';
import { writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { tempDir } from '../../helpers/tmp';

describe('model loads are audited (metadata only)', function () {
  this.timeout(120_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir()));
  after(() => dir.cleanup());

  it('an engine opened in a governed workspace appends a model-load entry with the digest and the runtime', async () => {
    const root = join(dir.path, 'ws');
    await mkdir(join(root, '.sovereign'), { recursive: true });
    const info = await writeTinyLlama(join(dir.path, 'tiny.gguf'));
    const { engine } = await openEngine(info.path, { workspaceRoot: root, load: { threads: 1 } });
    try {
      const entries = await readAudit(root, { action: 'model-load' });
      assert.equal(entries.length, 1);
      const e = entries[0];
      assert.equal(e.subject, 'tiny.gguf');
      assert.equal((e.details as Record<string, unknown>).digest, `sha256:${await sha256File(info.path)}`);
      assert.match(String((e.details as Record<string, unknown>).engine), /^llama\.cpp /);
      assert.equal((e.details as Record<string, unknown>).status, 'ok');
      assert.equal((await verifyAudit(root)).ok, true);
    } finally {
      await engine.stop();
    }
  });

  it('eval opens its model like every other load: one model-load entry (onnxruntime, one thread), nothing on a refused digest', async () => {
    const root = join(dir.path, 'ws-eval');
    await mkdir(join(root, '.sovereign'), { recursive: true });
    const model = await writeMlpClassifier(join(dir.path, 'fraud.onnx'));
    await writeFraudCsv(join(dir.path, 'valid.csv'), 300, 5);
    const report = await evaluateModel({ model: model.path, data: join(dir.path, 'valid.csv'), label: 'label', workspaceRoot: root });
    const entries = await readAudit(root, { action: 'model-load' });
    assert.equal(entries.length, 1);
    const details = entries[0].details as Record<string, unknown>;
    assert.equal(entries[0].subject, 'fraud.onnx');
    assert.equal(details.digest, `sha256:${report.model.sha256}`);
    assert.match(String(details.engine), /^onnxruntime /);
    assert.equal(details.threads, 1);
    assert.equal((await verifyAudit(root)).ok, true);

    await assert.rejects(
      evaluateModel({ model: model.path, data: join(dir.path, 'valid.csv'), label: 'label', workspaceRoot: root, expectedSha256: '0'.repeat(64) }),
      (err: Error) => err.name === 'RefusedError' && /has sha256 [0-9a-f]{64}, not the 0{64}/.test(err.message),
    );
    assert.equal((await readAudit(root, { action: 'model-load' })).length, 1, 'a refused digest loads nothing');
  });

  it('eval runs the model in the supervised engine process: the evaluating process never loads ONNX Runtime', async () => {
    const model = await writeMlpClassifier(join(dir.path, 'fraud-child.onnx'));
    await writeFraudCsv(join(dir.path, 'valid-child.csv'), 200, 6);
    const script = `
      const { evaluateModel } = require(${JSON.stringify(require.resolve('../../../src/core/eval/evaluate'))});
      evaluateModel({ model: process.argv[1], data: process.argv[2], label: 'label' }).then((r) => {
        const ort = Object.keys(require.cache).filter((k) => k.includes('onnxruntime-node'));
        console.log(JSON.stringify({ rows: r.rows, accuracy: r.accuracy, ort }));
      }, (err) => { console.error(err); process.exit(3); });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, model.path, join(dir.path, 'valid-child.csv')], { timeout: 60_000 });
    const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { rows: number; accuracy: number; ort: string[] };
    assert.equal(out.rows, 200);
    assert.ok(out.accuracy > 0.5);
    assert.deepEqual(out.ort, [], 'onnxruntime-node is loaded only in the engine child');
  });
});
