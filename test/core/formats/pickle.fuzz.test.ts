import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { osSystemPickle, PickleAsm, plainDataPickle, torchStateDictPickle } from '../../fixtures/pickle/assembler';
import { xzStore } from '../../fixtures/pickle/compress';
import { everyOpcodePickle, protocol0DataPickle, protocol0OsSystem } from '../../fixtures/pickle/corpus';
import { fuzz } from '../../fixtures/pickle/fuzz';
import { joblibPickle, npyFile } from '../../fixtures/pickle/joblib-layout';

/** Seeded random mutations of real pickles, joblib dumps, .npy files and compressed pickles. */
describe('pickle fuzzing (seeded)', function () {
  this.timeout(60_000);
  const seeds = [
    torchStateDictPickle([{ name: 'w', shape: [2, 3], storageKey: '0' }, { name: 'b', shape: [2], storageKey: '1' }]),
    everyOpcodePickle(),
    plainDataPickle(),
    protocol0DataPickle(),
    protocol0OsSystem(),
    osSystemPickle(),
    new PickleAsm().proto(4).frame(30).stackGlobalOf('builtins', 'eval').binunicode('1').tuple1().reduce().stop().bytes(),
    joblibPickle([{ shape: [2, 2], descr: 'f8', payload: Buffer.alloc(32, 0x28) }, { shape: [1], descr: 'O8', payload: plainDataPickle() }]),
    npyFile('|O', [1], plainDataPickle()),
    npyFile('<f4', [2, 2], Buffer.alloc(16)),
  ];

  it('never throws, never crashes an analyzer, and stays under 1 s of CPU per input (pickles, npy, joblib)', async () => {
    const stats = await fuzz(seeds, 0x5eed1, 15_000, 9_000);
    assert.ok(stats.runs >= 500, `only ${stats.runs} runs in the time budget`);
  });

  it('the same through gzip and xz wrappers', async () => {
    const wrapped = seeds.slice(0, 6).flatMap((s) => [gzipSync(s), xzStore(s)]);
    const stats = await fuzz(wrapped, 0x5eed2, 3000, 4_000);
    assert.ok(stats.runs >= 100, `only ${stats.runs} runs in the time budget`);
  });
});
