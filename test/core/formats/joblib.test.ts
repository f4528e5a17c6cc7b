import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import { analyzeSource, BufferSource, type FormatAnalysis } from '../../../src/core/formats';
import { osSystemPickle, PickleAsm } from '../../fixtures/pickle/assembler';
import { joblibPickle } from '../../fixtures/pickle/joblib-layout';

const analyze = (bytes: Buffer, name = 'model.joblib'): Promise<FormatAnalysis> => analyzeSource(new BufferSource(name, bytes, 0));

// Array bytes that look like opcodes (a GLOBAL os.system): they are data and must not be parsed as pickle.
const opcodeLookingData = Buffer.from('cos\nsystem\n'.repeat(12).slice(0, 96), 'latin1');

describe('joblib dumps', () => {
  it('skips raw array bytes after NumpyArrayWrapper (aligned and unaligned) without parse errors', async () => {
    const bytes = joblibPickle([
      { shape: [3, 4], descr: 'f8', payload: opcodeLookingData },
      { shape: [5], descr: 'i4', payload: Buffer.alloc(20, 0x63), aligned: false },
      { shape: [2, 2], descr: '<U3', payload: Buffer.alloc(48, 0x52) },
    ]);
    const a = await analyze(bytes);
    assert.equal(a.format, 'joblib');
    assert.deepEqual(a.findings, []);
    assert.equal((a.facts.summary as Record<string, unknown>).joblibArrays, 3);
    assert.equal(a.facts.joblibArrayBytes, 96 + 20 + 48);
  });

  it('finds a gadget placed after the array data (the skip is exact)', async () => {
    const bytes = joblibPickle([{ shape: [12], descr: 'f8', payload: opcodeLookingData }], (a: PickleAsm) => {
      a.global('os', 'system').binunicode('id').tuple1().reduce().pop();
    });
    const a = await analyze(bytes);
    assert.ok(a.findings.some((f) => f.rule === 'pickle/dangerous-global' && f.message.includes('os.system')), JSON.stringify(a.findings));
  });

  it('walks the nested pickle of an object array and resumes the outer pickle', async () => {
    const bytes = joblibPickle([{ shape: [2], descr: 'O8', payload: osSystemPickle() }, { shape: [1], descr: 'f8', payload: Buffer.alloc(8) }]);
    const a = await analyze(bytes);
    assert.ok(a.findings.some((f) => f.severity === 'critical' && f.message.includes('os.system')));
    assert.ok(!a.findings.some((f) => f.rule === 'pickle/parse-error'), JSON.stringify(a.findings));
    assert.equal(a.facts.pickles, 2);
  });

  it('a wrapper whose array data is cut short is a truncation (fail closed)', async () => {
    const bytes = joblibPickle([{ shape: [1000], descr: 'f8', payload: Buffer.alloc(16) }]);
    const a = await analyze(bytes);
    assert.ok(a.findings.some((f) => f.severity === 'high' && /truncated|past the end/.test(f.message)), JSON.stringify(a.findings));
  });

  it('reads compressed joblib dumps: zlib, the old ZF format, gzip', async () => {
    const inner = joblibPickle([{ shape: [2], descr: 'f8', payload: Buffer.alloc(16) }], (a) => {
      a.global('builtins', 'exec').binunicode('1').tuple1().reduce().pop();
    });
    const zf = Buffer.concat([Buffer.from('ZF'), Buffer.from(`0x${inner.length.toString(16)}`.padEnd(19)), deflateSync(inner)]);
    for (const [bytes, format] of [[deflateSync(inner), 'joblib'], [zf, 'joblib'], [gzipSync(inner), 'joblib']] as const) {
      const a = await analyze(bytes);
      assert.equal(a.format, format);
      assert.ok(a.findings.some((f) => f.severity === 'critical' && f.message.includes('builtins.exec')), JSON.stringify(a.findings));
    }
  });

  it('refuses compressors it cannot open (lzma alone, lz4): high, not silent', async () => {
    const lzmaAlone = Buffer.concat([Buffer.from([0x5d, 0, 0, 0x80, 0]), Buffer.alloc(8, 0xff), Buffer.alloc(20, 1)]);
    const a = await analyze(lzmaAlone);
    assert.equal(a.format, 'joblib');
    assert.ok(a.findings.some((f) => f.rule === 'compressed/unsupported' && f.severity === 'high'));
  });
});
