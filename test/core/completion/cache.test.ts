import { strict as assert } from 'node:assert';
import { CompletionCache } from '../../../src/core/completion/cache';

describe('completion cache', () => {
  it('serves exact hits and the rest of a suggestion the user is typing through', () => {
    const cache = new CompletionCache();
    cache.set('m', 'function add(a, b) {\n  return ', '\n}', 'a + b;');
    assert.equal(cache.get('m', 'function add(a, b) {\n  return ', '\n}'), 'a + b;');
    assert.equal(cache.get('m', 'function add(a, b) {\n  return a', '\n}'), ' + b;');
    assert.equal(cache.get('m', 'function add(a, b) {\n  return a + ', '\n}'), 'b;');
    // typed something else: no hit
    assert.equal(cache.get('m', 'function add(a, b) {\n  return x', '\n}'), undefined);
    // typed the whole suggestion: nothing left to offer
    assert.equal(cache.get('m', 'function add(a, b) {\n  return a + b;', '\n}'), undefined);
    // another model (scope) or another suffix: no hit
    assert.equal(cache.get('other', 'function add(a, b) {\n  return ', '\n}'), undefined);
    assert.equal(cache.get('m', 'function add(a, b) {\n  return ', ''), undefined);
  });

  it('evicts the least recently used entry and expires old ones', () => {
    let now = 0;
    const cache = new CompletionCache({ maxEntries: 2, ttlMs: 1000, maxTypeThrough: 8 }, () => now);
    cache.set('m', 'a', '', '1');
    cache.set('m', 'b', '', '2');
    assert.equal(cache.get('m', 'a', ''), '1'); // touch a
    cache.set('m', 'c', '', '3'); // evicts b
    assert.equal(cache.get('m', 'b', ''), undefined);
    assert.equal(cache.get('m', 'a', ''), '1');
    now = 5000;
    assert.equal(cache.get('m', 'a', ''), undefined);
  });
});
