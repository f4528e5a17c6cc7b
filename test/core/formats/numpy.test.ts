import assert from 'node:assert/strict';
import { analyzeSource, BufferSource, type FormatAnalysis } from '../../../src/core/formats';
import { parseLiteral, LiteralTuple } from '../../../src/core/formats/numpy/header';
import { osSystemPickle, PickleAsm } from '../../fixtures/pickle/assembler';
import { npyFile } from '../../fixtures/pickle/joblib-layout';

const analyze = (bytes: Buffer): Promise<FormatAnalysis> => analyzeSource(new BufferSource('a.npy', bytes, 0));
const rules = (a: FormatAnalysis) => a.findings.map((f) => `${f.severity} ${f.rule}`);

describe('numpy .npy', () => {
  it('reports dtype and shape of a numeric array with no findings', async () => {
    const a = await analyze(npyFile('<f4', [3, 4], Buffer.alloc(48)));
    assert.equal(a.format, 'numpy');
    assert.deepEqual(a.findings, []);
    assert.equal(a.facts.dtype, '<f4');
    assert.deepEqual(a.facts.shape, [3, 4]);
    assert.equal(a.facts.dataBytes, 48);
  });

  it('sizes structured dtypes and flags truncated or padded data', async () => {
    const header = "{'descr': [('a', '<f4'), ('b', '<i8', (2,))], 'fortran_order': False, 'shape': (3,), }";
    assert.deepEqual((await analyze(npyFile('', [3], Buffer.alloc(60), header))).findings, []);
    assert.deepEqual(rules(await analyze(npyFile('<f8', [4], Buffer.alloc(16)))), ['high numpy/truncated']);
    assert.deepEqual(rules(await analyze(npyFile('<u1', [4], Buffer.alloc(40)))), ['medium numpy/trailing-data']);
  });

  it('walks the pickle of an object array and catches gadgets in it', async () => {
    const a = await analyze(npyFile('|O', [2], osSystemPickle()));
    assert.ok(rules(a).includes('critical pickle/dangerous-global'), JSON.stringify(a.findings));
    assert.ok(rules(a).includes('medium numpy/object-array'));
    const benign = new PickleAsm().proto(3).global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').binint1(0).tuple1().shortBinbytes(Buffer.from('b')).tuple3().reduce().stop().bytes();
    assert.deepEqual(rules(await analyze(npyFile('|O', [1], benign))), ['medium numpy/object-array']);
  });

  it('refuses malformed headers (fail closed) and never evaluates them', async () => {
    for (const header of ["{'descr': '<f4', 'shape': (2,), }", "__import__('os').system('id')", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)"]) {
      assert.deepEqual(rules(await analyze(npyFile('', [], Buffer.alloc(8), header))), ['high numpy/bad-header'], header);
    }
  });

  it('parses the Python literal subset numpy writes', () => {
    const v = parseLiteral("{'a': (1,), 'b': [True, None, \"x\"], 'c': (), 'd': (2)}") as Record<string, unknown>;
    assert.ok(v.a instanceof LiteralTuple && v.a.items[0] === 1);
    assert.deepEqual(v.b, [true, null, 'x']);
    assert.ok(v.c instanceof LiteralTuple && v.c.items.length === 0);
    assert.equal(v.d, 2);
  });
});
