import { strict as assert } from 'node:assert';
import { ContextRingBuffer, jaccard } from '../../../src/core/completion/ring-buffer';

describe('extra-context ring buffer', () => {
  const file = (n: number, tag = '') => Array.from({ length: 100 }, (_, i) => `line ${n}-${i}${tag}`);

  it('keeps chunks around the cursor, newest first, bounded', () => {
    const rb = new ContextRingBuffer({ maxChunks: 3, chunkLines: 4, similarity: 0.9 });
    for (let n = 0; n < 5; n++) rb.addFromFile(`f${n}.ts`, file(n), 50);
    assert.equal(rb.size, 3);
    const snap = rb.snapshot();
    assert.deepEqual(snap.map((c) => c.filename), ['f4.ts', 'f3.ts', 'f2.ts']);
    assert.equal(snap[0].text, 'line 4-48\nline 4-49\nline 4-50\nline 4-51\n');
    assert.deepEqual(rb.snapshot('f4.ts').map((c) => c.filename), ['f3.ts', 'f2.ts']);
  });

  it('replaces a near-duplicate chunk instead of keeping both', () => {
    const rb = new ContextRingBuffer({ maxChunks: 8, chunkLines: 10, similarity: 0.7 });
    rb.addFromFile('a.ts', file(1), 20);
    rb.addFromFile('a.ts', file(1), 21); // 9 of 10 lines shared
    assert.equal(rb.size, 1);
    assert.ok(jaccard(new Set(['a', 'b']), new Set(['a', 'b'])) === 1);
  });

  it('never collects secret files', () => {
    const rb = new ContextRingBuffer();
    rb.addFromFile('/work/app/.env', ['API_KEY=abc'], 0);
    rb.addFromFile('/work/app/server.pem', ['-----BEGIN PRIVATE KEY-----'], 0);
    assert.equal(rb.size, 0);
  });
});
