import assert from 'node:assert/strict';
import { osSystemPickle, plainDataPickle, torchStateDictPickle } from '../../fixtures/pickle/assembler';
import { fuzz } from '../../fixtures/pickle/fuzz';
import { npyFile } from '../../fixtures/pickle/joblib-layout';
import { torchZip, writeZip } from '../../fixtures/zip/zip-writer';

/** Seeded random mutations of PyTorch archives, npz, .keras and nested zips. */
describe('zip fuzzing (seeded)', function () {
  this.timeout(60_000);
  const pkl = torchStateDictPickle([{ name: 'w', shape: [2, 3], storageKey: '0' }]);
  const seeds = [
    torchZip(pkl, { '0': Buffer.alloc(24, 1) }),
    torchZip(osSystemPickle(), { '0': Buffer.alloc(24, 1) }),
    writeZip([{ name: 'a.npy', data: npyFile('<f4', [2], Buffer.alloc(8)) }, { name: 'b.npy', data: npyFile('|O', [1], plainDataPickle()), method: 8 }]),
    writeZip([
      { name: 'metadata.json', data: Buffer.from('{"keras_version": "3.6.0"}') },
      { name: 'config.json', data: Buffer.from('{"module": "keras", "class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l"}}]}}'), method: 8 },
    ]),
    writeZip([{ name: 'inner.zip', data: writeZip([{ name: 'x.pkl', data: osSystemPickle(), method: 8 }]) }]),
  ];

  it('never throws, never crashes an analyzer, and stays under 1 s of CPU per input', async () => {
    const stats = await fuzz(seeds, 0x21b, 8000, 8_000);
    assert.ok(stats.runs >= 300, `only ${stats.runs} runs in the time budget`);
  });
});
