import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { analyzeSource, BufferSource, type FormatAnalysis } from '../../../src/core/formats';
import { isBlocking } from '../../../src/core/formats/findings';
import { buildTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { writeMlpClassifier } from '../../fixtures/onnx/mlpClassifier';
import { osSystemPickle, plainDataPickle } from '../../fixtures/pickle/assembler';
import { torchZip, writeZip } from '../../fixtures/zip/zip-writer';
import { tempDir } from '../../helpers/tmp';

const analyze = (name: string, bytes: Buffer): Promise<FormatAnalysis> => analyzeSource(new BufferSource(name, bytes, 0));
const rules = (a: FormatAnalysis): string[] => a.findings.filter((f) => f.rule.startsWith('format/')).map((f) => `${f.rule}:${f.severity}`);
const blocks = (a: FormatAnalysis): boolean => a.findings.some((f) => isBlocking(f.severity));

/** Random bytes no detector recognises (not a magic, not a pickle STOP at the end, not a pickle opcode first). */
function noise(size = 4096): Buffer {
  const b = randomBytes(size);
  b[0] = 0x01;
  b[b.length - 1] = 0x00;
  return b;
}

describe('a file named like a model must be that model (the name is checked against the bytes)', () => {
  let gguf: Buffer;
  let onnx: Buffer;
  before(async () => {
    gguf = buildTinyLlama({ fim: false }).bytes;
    const dir = await tempDir();
    try {
      onnx = await readFile((await writeMlpClassifier(join(dir.path, 'm.onnx'))).path);
    } finally {
      await dir.cleanup();
    }
  });

  it('claims X, is Y: format/mismatch at high, for every model extension', async () => {
    const cases: [string, Buffer, string][] = [
      ['model.gguf', plainDataPickle(), 'pickle'],
      ['model.gguf', onnx, 'onnx'],
      ['model.onnx', gguf, 'gguf'],
      ['model.safetensors', writeZip([{ name: 'notes.txt', data: Buffer.from('hello') }]), 'zip'],
      ['model.pt', writeZip([{ name: 'weights/a.txt', data: Buffer.from('no data.pkl here') }]), 'zip'],
      ['model.pth', gguf, 'gguf'],
      ['model.ckpt', onnx, 'onnx'],
      ['model.pkl', gguf, 'gguf'],
      ['model.joblib', onnx, 'onnx'],
      ['arr.npy', plainDataPickle(), 'pickle'],
      ['arrs.npz', torchZip(plainDataPickle(), {}), 'pytorch-zip'],
      ['model.h5', plainDataPickle(), 'pickle'],
      ['model.keras', writeZip([{ name: 'x.txt', data: Buffer.from('x') }]), 'zip'],
    ];
    for (const [name, bytes, format] of cases) {
      const a = await analyze(name, bytes);
      assert.equal(a.format, format, name);
      assert.ok(rules(a).includes('format/mismatch:high'), `${name} as ${format}: ${JSON.stringify(a.findings)}`);
      const f = a.findings.find((x) => x.rule === 'format/mismatch')!;
      assert.match(f.message, /named as .* but its bytes are/);
      assert.equal(f.location, name);
    }
  });

  it('claims a model format, bytes not recognised: format/unknown at high (random bytes, plain text, empty)', async () => {
    for (const [name, bytes] of [
      ['model.onnx', noise()],
      ['model.gguf', noise()],
      ['model.safetensors', Buffer.from('not really safetensors\n')],
      ['model.pt', Buffer.from('just some plain text, not a checkpoint\n')],
      ['model.pth', Buffer.alloc(0)],
      ['weights.npy', noise(100)],
      ['model.h5', noise()],
      ['model.pkl', noise()],
      ['model.tflite', noise()],
      ['model.mlmodel', noise()],
    ] as [string, Buffer][]) {
      const a = await analyze(name, bytes);
      assert.equal(a.format, 'unknown', name);
      assert.deepEqual(rules(a), ['format/unknown:high'], name);
      assert.ok(blocks(a), name);
    }
  });

  it('a pickle with bytes appended (detection misses it, pickle.load does not) is walked when its name is a pickle loader\'s', async () => {
    const evil = Buffer.concat([Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1'), noise(64)]);
    for (const name of ['pytorch_model.bin', 'model.pt', 'model.pkl', 'model.ckpt']) {
      const a = await analyze(name, evil);
      assert.equal(a.format, 'pickle', name);
      assert.ok(a.findings.some((f) => f.rule === 'pickle/dangerous-global' && f.severity === 'critical'), `${name}: ${JSON.stringify(a.findings)}`);
    }
  });

  it('compressed: the content of model.X.gz must be X; the wrapper bytes must be the wrapper', async () => {
    const innerNoise = await analyze('model.pkl.gz', gzipSync(noise()));
    assert.equal(innerNoise.format, 'gzip');
    assert.deepEqual(rules(innerNoise), ['format/unknown:high']);
    assert.match(innerNoise.findings[0].location ?? '', /model\.pkl\.gz!gzip/);
    const innerOnnx = await analyze('model.gguf.gz', gzipSync(onnx));
    assert.deepEqual(rules(innerOnnx), ['format/mismatch:high']);
    const notGzip = await analyze('model.pkl.gz', noise());
    assert.deepEqual(rules(notGzip), ['format/unknown:high']);
    const good = await analyze('model.gguf.gz', gzipSync(gguf));
    assert.deepEqual(rules(good), []);
  });

  it('archive members are held to their names too (an .npz member that is not an array)', async () => {
    const a = await analyze('arrays.npz', writeZip([{ name: 'a.npy', data: Buffer.from('not an array') }]));
    assert.ok(a.findings.some((f) => f.rule === 'format/unknown' && f.severity === 'high' && f.location === 'arrays.npz!a.npy'), JSON.stringify(a.findings));
  });

  it('true names pass: a GGUF, an ONNX, a torch zip, a pickle, a gzip-wrapped pickle', async () => {
    for (const [name, bytes] of [
      ['model.gguf', gguf],
      ['model.onnx', onnx],
      ['model.pt', torchZip(plainDataPickle(), {})],
      ['model.pkl', plainDataPickle()],
      ['model.joblib', gzipSync(plainDataPickle())],
      ['model.pkl.gz', gzipSync(plainDataPickle())],
    ] as [string, Buffer][]) {
      assert.deepEqual(rules(await analyze(name, bytes)), [], name);
    }
    assert.ok(blocks(await analyze('model.pt', osSystemPickle())), 'a truly named pickle is still judged by its content');
  });

  it('names that claim no model format keep "unknown" without a finding (text, config, raw .bin weights)', async () => {
    for (const [name, bytes] of [
      ['notes.txt', Buffer.from('just text\n')],
      ['README', Buffer.from('# a model\n')],
      ['config.json', Buffer.from('{"hidden_size": 64}\n')],
      ['tokenizer.model', noise()],
      ['weights.onnx_data', noise()],
      ['tiny.bin', noise()],
      ['starts-like-a-pickle.bin', Buffer.concat([Buffer.from('N.'), noise()])], // imports nothing: raw data
      ['blob', noise()],
    ] as [string, Buffer][]) {
      const a = await analyze(name, bytes);
      assert.equal(a.format, 'unknown', name);
      assert.deepEqual(a.findings, [], name);
    }
  });
});
