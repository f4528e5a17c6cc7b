import assert from 'node:assert/strict';
import { deflateRawSync } from 'node:zlib';
import { analyzeSource, BufferSource, type FormatAnalysis } from '../../../src/core/formats';
import { severityRank } from '../../../src/core/formats/findings';
import { osSystemPickle, plainDataPickle, torchStateDictPickle } from '../../fixtures/pickle/assembler';
import { npyFile } from '../../fixtures/pickle/joblib-layout';
import { torchZip, writeZip } from '../../fixtures/zip/zip-writer';

const analyze = (bytes: Buffer, name = 'model.pt'): Promise<FormatAnalysis> => analyzeSource(new BufferSource(name, bytes, 0));

function has(a: FormatAnalysis, rule: string, severity?: string, text?: string): void {
  const ok = a.findings.some((f) => f.rule === rule && (severity === undefined || f.severity === severity) && (text === undefined || `${f.message} ${f.location}`.includes(text)));
  assert.ok(ok, `expected ${rule} ${severity ?? ''} ${text ?? ''} in ${JSON.stringify(a.findings, null, 1)}`);
}

const weights = torchStateDictPickle([
  { name: 'fc.weight', shape: [4, 3], storageKey: '0' },
  { name: 'fc.bias', shape: [4], storageKey: '1' },
]);
const storages = { '0': Buffer.alloc(48, 0x3f), '1': Buffer.alloc(16, 0x3f) };

describe('zip containers', () => {
  it('passes a real-world-shaped PyTorch archive and reports pytorch-zip with its globals', async () => {
    const a = await analyze(torchZip(weights, storages));
    assert.equal(a.format, 'pytorch-zip');
    assert.deepEqual(a.findings, []);
    assert.deepEqual((a.facts.globals as string[]).sort(), ['collections.OrderedDict', 'torch.FloatStorage', 'torch._utils._rebuild_tensor_v2']);
    assert.equal((a.facts.summary as Record<string, unknown>).tensorStorages, 2);
  });

  it('catches a malicious data.pkl and names the member', async () => {
    const a = await analyze(torchZip(osSystemPickle(), storages));
    assert.equal(a.format, 'pytorch-zip');
    has(a, 'pickle/dangerous-global', 'critical', 'model.pt!archive/data.pkl');
  });

  it('flags central directory vs local header mismatches (name, CRC, sizes, method, flags)', async () => {
    for (const local of [{ name: 'archive/xata.pkl' }, { crc: 0x12345678 }, { compressedSize: 5 }, { method: 8 }, { flags: 0x801 }]) {
      const a = await analyze(torchZip(weights, storages, 'archive', { local }));
      has(a, 'zip/header-mismatch', 'high', 'archive/data.pkl');
    }
  });

  it('flags member content that does not match its CRC', async () => {
    const a = await analyze(torchZip(weights, storages, 'archive', { centralCrc: 0xdeadbeef, local: { crc: 0xdeadbeef } }));
    has(a, 'zip/crc-mismatch', 'high');
  });

  it('flags a local header hidden between members, duplicate names and prepended bytes', async () => {
    const hidden = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(40)]);
    has(await analyze(writeZip([{ name: 'a.txt', data: Buffer.from('a') }, { name: 'b.txt', data: Buffer.from('b'), before: hidden }]), 'x.zip'), 'zip/hidden-member', 'high');
    has(await analyze(writeZip([{ name: 'a.pkl', data: plainDataPickle() }, { name: 'a.pkl', data: osSystemPickle() }]), 'x.zip'), 'zip/duplicate-name', 'high');
    const prefixed = await analyze(writeZip([{ name: 'a.pkl', data: osSystemPickle() }], { prefix: Buffer.from('MZ-not-a-zip-start') }), 'x.zip');
    assert.equal(prefixed.format, 'zip');
    has(prefixed, 'zip/offset-mismatch', 'high');
    has(prefixed, 'pickle/dangerous-global', 'critical');
  });

  it('flags overlapping members (two entries sharing one local header)', async () => {
    const zip = writeZip([{ name: 'a.bin', data: Buffer.alloc(100, 1) }, { name: 'b.bin', data: Buffer.alloc(100, 2) }]);
    // Point the second central entry's local offset at the first member.
    const cd = zip.indexOf(Buffer.from('PK\x01\x02', 'latin1'));
    const second = zip.indexOf(Buffer.from('PK\x01\x02', 'latin1'), cd + 4);
    zip.writeUInt32LE(0, second + 42);
    const a = await analyze(zip, 'x.zip');
    has(a, 'zip/overlapping-members', 'high');
  });

  it('scans deflated members and recurses into nested archives by content', async () => {
    const inner = writeZip([{ name: 'weights.bin', data: osSystemPickle(), method: 8 }]);
    const outer = writeZip([{ name: 'readme.txt', data: Buffer.from('hello') }, { name: 'inner.dat', data: inner, method: 8 }]);
    const a = await analyze(outer, 'bundle.zip');
    assert.equal(a.format, 'zip');
    has(a, 'pickle/dangerous-global', 'critical', 'bundle.zip!inner.dat!weights.bin');
  });

  it('refuses decompression bombs and members that inflate past their declared size', async () => {
    const zeros = Buffer.alloc(80 << 20);
    const bomb = writeZip([{ name: 'a.npy', data: zeros, method: 8 }]);
    const a = await analyze(bomb, 'bomb.npz');
    has(a, 'zip/bomb', 'high');
    const liar = writeZip([{ name: 'x.pkl', data: plainDataPickle(), method: 8, local: { uncompressedSize: 3 } }]);
    const cd = liar.indexOf(Buffer.from('PK\x01\x02', 'latin1'));
    liar.writeUInt32LE(3, cd + 24); // central size too: both views agree on a lie
    has(await analyze(liar, 'x.zip'), 'zip/size-mismatch', 'high');
  });

  it('reports npz for a zip of .npy and walks object arrays inside', async () => {
    const numeric = npyFile('<f4', [2, 2], Buffer.alloc(16));
    const evil = npyFile('|O', [1], osSystemPickle());
    const a = await analyze(writeZip([{ name: 'a.npy', data: numeric }, { name: 'b.npy', data: evil, method: 8 }]), 'arrays.npz');
    assert.equal(a.format, 'npz');
    has(a, 'pickle/dangerous-global', 'critical', 'arrays.npz!b.npy');
  });

  it('fails closed on a truncated archive and on encrypted or unsupported members', async () => {
    const zip = torchZip(weights, storages);
    has(await analyze(zip.subarray(0, zip.length - 30)), 'zip/malformed', 'high');
    const enc = writeZip([{ name: 'a.pkl', data: plainDataPickle(), local: { flags: 0x801 } }]);
    const cd = enc.indexOf(Buffer.from('PK\x01\x02', 'latin1'));
    enc.writeUInt16LE(0x801, cd + 8);
    has(await analyze(enc, 'x.zip'), 'zip/encrypted', 'high');
    const lzma = writeZip([{ name: 'a.pkl', data: plainDataPickle(), local: { method: 14 } }]);
    const cd2 = lzma.indexOf(Buffer.from('PK\x01\x02', 'latin1'));
    lzma.writeUInt16LE(14, cd2 + 10);
    has(await analyze(lzma, 'x.zip'), 'zip/unsupported-method', 'high');
  });

  it('keeps deflate data honest: a deflated pickle member is decompressed and judged', async () => {
    const a = await analyze(writeZip([{ name: 'archive/data.pkl', data: weights, method: 8 }, { name: 'archive/data/0', data: Buffer.from(deflateRawSync(Buffer.alloc(4))), method: 0 }]));
    assert.equal(a.format, 'pytorch-zip');
    assert.ok(a.findings.every((f) => severityRank(f.severity) < severityRank('high')), JSON.stringify(a.findings));
  });
});
