import { strict as assert } from 'node:assert';
import { AdaptiveDebounce } from '../../../src/core/completion/debounce';

describe('adaptive debounce', () => {
  it('follows the typing rhythm within its bounds', () => {
    let now = 0;
    const d = new AdaptiveDebounce({ minMs: 50, maxMs: 600, initialMs: 150, alpha: 0.5 }, () => now);
    assert.equal(d.next(), 150);
    for (let i = 0; i < 10; i++) { now += 40; d.next(); } // fast typing
    assert.ok(d.delay >= 50 && d.delay <= 70, `fast typist delay ${d.delay}`);
    for (let i = 0; i < 10; i++) { now += 300; d.next(); } // slow typing
    assert.ok(d.delay >= 400 && d.delay <= 600, `slow typist delay ${d.delay}`);
    now += 10_000; d.next(); // a long pause is not typing
    assert.ok(d.delay >= 400);
  });

  it('sleep resolves false as soon as it is cancelled', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = AdaptiveDebounce.sleep(5000, ac.signal);
    ac.abort();
    assert.equal(await p, false);
    assert.ok(Date.now() - started < 1000);
    assert.equal(await AdaptiveDebounce.sleep(1), true);
  });
});
