import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import { analyzeSource, BufferSource, type FormatAnalysis } from '../../../src/core/formats';
import { decompress } from '../../../src/core/formats/compressed/decompress';
import { osSystemPickle, plainDataPickle } from '../../fixtures/pickle/assembler';
import { bzip2, xzStore } from '../../fixtures/pickle/compress';
import { writeZip } from '../../fixtures/zip/zip-writer';

const analyze = (bytes: Buffer, name = 'model.bin'): Promise<FormatAnalysis> => analyzeSource(new BufferSource(name, bytes, 0));
const critical = (a: FormatAnalysis) => a.findings.some((f) => f.severity === 'critical' && f.rule === 'pickle/dangerous-global');

describe('compressed wrappers', () => {
  it('looks through gzip at the pickle inside', async () => {
    const a = await analyze(gzipSync(osSystemPickle()), 'model.pkl.gz');
    assert.equal(a.format, 'gzip');
    assert.ok(critical(a), JSON.stringify(a.findings));
    assert.equal((a.facts.summary as Record<string, unknown>).inner, 'pickle');
    assert.deepEqual((await analyze(gzipSync(plainDataPickle()))).findings, []);
  });

  it('looks through xz (a stream written without an xz binary)', async () => {
    const a = await analyze(xzStore(osSystemPickle()), 'model.pkl.xz');
    assert.equal(a.format, 'xz');
    assert.ok(critical(a), JSON.stringify(a.findings));
  });

  it('looks through bz2 (input made by the system bzip2)', async function () {
    const bz = bzip2(osSystemPickle());
    if (!bz) this.skip(); // no bzip2 binary on this machine to make the input
    const a = await analyze(bz, 'model.pkl.bz2');
    assert.equal(a.format, 'bz2');
    assert.ok(critical(a), JSON.stringify(a.findings));
  });

  it('looks through nested wrappers (a zip in a gzip) and reports corrupt streams', async () => {
    const a = await analyze(gzipSync(writeZip([{ name: 'x.pkl', data: osSystemPickle() }])));
    assert.equal(a.format, 'gzip');
    assert.ok(critical(a));
    const gz = gzipSync(Buffer.concat([osSystemPickle(), Buffer.alloc(5000, 7)]));
    gz[gz.length - 12] ^= 0xff; // damage the end of the stream: the start still decompresses
    const damaged = await analyze(gz);
    assert.ok(damaged.findings.some((f) => f.rule === 'compressed/corrupt' && f.severity === 'high'), JSON.stringify(damaged.findings));
  });

  it('flags a decompression bomb by ratio, and the output bound holds', async function () {
    this.timeout(20_000);
    const zeros = Buffer.alloc(100 << 20);
    const a = await analyze(gzipSync(zeros, { level: 9 }), 'bomb.gz');
    assert.ok(a.findings.some((f) => f.rule === 'compressed/bomb' && f.severity === 'high'), JSON.stringify(a.findings));
    // The bound: decompression stops at the limit whatever the stream says.
    const out = await decompress('gzip', new BufferSource('b.gz', gzipSync(zeros.subarray(0, 8 << 20)), 0), { limit: 1 << 20 });
    assert.equal(out.truncated, true);
    assert.equal(out.data.length, 1 << 20);
  });

  it('treats two bytes that merely look like a zlib header as unknown, not a finding', async () => {
    const a = await analyze(Buffer.from('x^ this is a text file, not zlib'));
    assert.equal(a.format, 'unknown');
    assert.deepEqual(a.findings, []);
  });

  it('a zlib stream is a joblib dump', async () => {
    const a = await analyze(deflateSync(osSystemPickle()), 'model.joblib');
    assert.equal(a.format, 'joblib');
    assert.ok(critical(a));
  });
});
