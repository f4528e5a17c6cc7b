import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSource, BufferSource, FileSource, type FormatAnalysis } from '../../../src/core/formats';
import { analyzeSafetensors, findDuplicateKeys, inspectSafetensors, type SafetensorsFacts } from '../../../src/core/formats/safetensors';
import { brokenSafetensorsVariants, encodeSafetensors, f32, validSafetensorsSpec, writeSafetensors, writeSparseSafetensors } from '../../fixtures/safetensors/writer';

function rules(a: FormatAnalysis): string[] {
  return a.findings.map((f) => f.rule);
}

describe('safetensors reader', function () {
  this.timeout(30_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-safetensors-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a valid file: tensors, dtypes, parameters, metadata; no findings', async () => {
    const path = join(dir, 'model.safetensors');
    await writeSafetensors(path, validSafetensorsSpec(), { metadata: { format: 'pt', source: 'unit test' } });
    const source = await FileSource.open(path);
    const a = await analyzeSource(source);
    await source.close();
    assert.equal(a.format, 'safetensors');
    assert.deepEqual(a.findings, []);
    const facts = a.facts as SafetensorsFacts;
    assert.equal(facts.tensorCount, 4);
    assert.deepEqual(facts.dtypes, { F32: 2, F16: 1, I64: 1 });
    assert.equal(facts.parameterCount, 12 + 3 + 6 + 0);
    assert.equal(facts.dataBytes, 48 + 12 + 12);
    assert.deepEqual(facts.metadata, { format: 'pt', source: 'unit test' });
    assert.deepEqual(facts.tensors[0], { name: 'embed.weight', dtype: 'F32', shape: [4, 3] });
    assert.equal(facts.headerBytes % 8, 0);
    assert.equal(facts.summary.tensors, 4);
    assert.equal(facts.summary.dtypes, 'F32 2, F16 1, I64 1');
  });

  it('accepts tensors listed out of file order, zero-size tensors and an unpadded header', async () => {
    const bytes = encodeSafetensors([f32('a', [2], [1, 2]), { name: 'z', dtype: 'U8', shape: [0] }, f32('b', [1], [3])], {
      pad: false,
      editHeader: (h) => {
        const reordered = Object.fromEntries(Object.entries(h).reverse());
        for (const k of Object.keys(h)) delete h[k];
        Object.assign(h, reordered);
      },
    });
    const a = await analyzeSafetensors(new BufferSource('x.safetensors', bytes, 0), {});
    assert.deepEqual(a.findings, []);
    assert.deepEqual((a.facts as SafetensorsFacts).tensors.map((t) => t.name), ['a', 'z', 'b']);
  });

  it('checks sub-byte dtypes by bits: F4 needs an even element count', async () => {
    const ok = encodeSafetensors([{ name: 'q', dtype: 'F4', shape: [4], data: Buffer.alloc(2) }]);
    assert.deepEqual((await analyzeSafetensors(new BufferSource('ok', ok, 0), {})).findings, []);
    const odd = encodeSafetensors([{ name: 'q', dtype: 'F4', shape: [3], data: Buffer.alloc(2) }]);
    assert.deepEqual(rules(await analyzeSafetensors(new BufferSource('odd', odd, 0), {})), ['safetensors/tensor-size-mismatch']);
  });

  it('flags each broken variant with its rule, as a blocking (high) finding', async () => {
    const variants = brokenSafetensorsVariants();
    assert.ok(Object.keys(variants).length >= 20);
    for (const [name, [bytes, rule]] of Object.entries(variants)) {
      const a = await analyzeSafetensors(new BufferSource(`${name}.safetensors`, bytes, 0), {});
      const hit = a.findings.find((f) => f.rule === rule);
      assert.ok(hit, `${name}: expected ${rule}, got ${JSON.stringify(a.findings)}`);
      assert.equal(hit.severity, 'high', name);
    }
  });

  it('flags unknown fields in a tensor entry as low', async () => {
    const bytes = encodeSafetensors([f32('a', [1], [1])], { editHeader: (h) => ((h.a as Record<string, unknown>).quant = 'x') });
    const a = await analyzeSafetensors(new BufferSource('x', bytes, 0), {});
    assert.deepEqual(a.findings.map((f) => [f.rule, f.severity]), [['safetensors/unknown-field', 'low']]);
  });

  it('finds duplicate keys at any depth, escaped or not, and nothing in clean JSON', () => {
    assert.deepEqual(findDuplicateKeys('{"a":1,"b":{"c":1,"c":2},"\\u0061":3}'), [
      { key: 'c', path: '$["b"]' },
      { key: 'a', path: '$' },
    ]);
    assert.deepEqual(findDuplicateKeys('{"a":["a","a",{"a":1}],"b":"\\"a\\"","c":{"a":1}}'), []);
  });

  it('keeps "__proto__" keys as data', async () => {
    const metadata = JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, unknown>;
    const bytes = encodeSafetensors([f32('__proto__', [1], [1])], { metadata });
    const a = await analyzeSafetensors(new BufferSource('x', bytes, 0), {});
    assert.deepEqual(a.findings, []);
    const facts = a.facts as SafetensorsFacts;
    assert.equal(facts.tensors[0].name, '__proto__');
    assert.equal(Object.getPrototypeOf(facts.metadata), Object.prototype);
    assert.equal(facts.metadata['__proto__'], 'x');
  });

  it('reads only the header: a 4 GiB sparse file with 2,000 tensors in well under a second', async () => {
    const path = join(dir, 'big.safetensors');
    const written = await writeSparseSafetensors(path, 2000, 4 * 2 ** 30);
    assert.equal((await stat(path)).size, written.size);
    const started = performance.now();
    const result = await inspectSafetensors(path);
    const ms = performance.now() - started;
    assert.deepEqual(result.findings, []);
    assert.equal(result.facts?.tensorCount, 2000);
    assert.ok(result.facts!.dataBytes > 4 * 2 ** 30 - 4000);
    assert.ok(ms < 1000, `${ms} ms`);
  });

  it('inspectSafetensors(path): undefined facts and a finding for a broken header', async () => {
    const path = join(dir, 'broken.safetensors');
    await writeFile(path, brokenSafetensorsVariants()['invalid-json'][0]);
    const result = await inspectSafetensors(path);
    assert.equal(result.facts, undefined);
    assert.deepEqual(result.findings.map((f) => f.rule), ['safetensors/invalid-json']);
  });
});
