import { strict as assert } from 'node:assert';
import { buildContext } from '../../../src/core/completion/context';
import { postprocess, trimSuffixOverlap } from '../../../src/core/completion/postprocess';
import { withCursor } from './doc';

const ctxOf = (text: string) => {
  const { doc, pos } = withCursor(text);
  return buildContext(doc, pos, [], { prefixTokens: 512, suffixTokens: 512, extraTokens: 0, redactSecrets: false });
};

describe('completion post-processing', () => {
  it('cuts at stop tokens and strips code fences', () => {
    const ctx = ctxOf('def f():\n    |');
    assert.equal(postprocess('return 1<|endoftext|>garbage', ctx, { stop: ['<|endoftext|>'], maxLines: 16 }), 'return 1');
    assert.equal(postprocess('```python\nreturn 1\n```', ctx, { stop: [], maxLines: 16 }), 'return 1');
  });

  it('keeps one line where a block is not being written', () => {
    const ctx = ctxOf('const total = |');
    assert.equal(ctx.multiline, false);
    assert.equal(postprocess('price * qty;\nconsole.log(total);', ctx, { stop: [], maxLines: 16 }), 'price * qty;');
    assert.equal(postprocess('\nfoo', ctx, { stop: [], maxLines: 16 }), '');
  });

  it('keeps several lines in a new block, stopping before code that already follows', () => {
    const ctx = ctxOf('function f(a) {\n  |\n  return a;\n}');
    assert.equal(ctx.multiline, true);
    assert.equal(postprocess('a = a * 2;\n  log(a);\n  return a;\n}', ctx, { stop: [], maxLines: 16 }), 'a = a * 2;\n  log(a);');
  });

  it('drops a rewrite of the line above and degenerate repetition', () => {
    const ctx = ctxOf('x = compute()\n|');
    assert.equal(postprocess('x = compute()\ny = 2', ctx, { stop: [], maxLines: 16 }), '');
    assert.equal(postprocess('y = 1\ny = 1\ny = 1', ctx, { stop: [], maxLines: 16 }), 'y = 1');
  });

  it('trims an ending that overlaps the text after the cursor', () => {
    assert.equal(trimSuffixOverlap('a, b)', ')', ''), 'a, b');
    assert.equal(trimSuffixOverlap('a, b);', ');', ''), 'a, b');
    assert.equal(trimSuffixOverlap('a, b', ')', ''), 'a, b');
    const ctx = ctxOf('print(|)');
    assert.equal(postprocess('"hello")', ctx, { stop: [], maxLines: 16 }), '"hello"');
  });

  it('returns nothing for blank output and limits lines', () => {
    const ctx = ctxOf('|');
    assert.equal(postprocess('   \n  ', ctx, { stop: [], maxLines: 16 }), '');
    assert.equal(postprocess('1\n2\n3\n4', ctx, { stop: [], maxLines: 2 }), '1\n2');
  });
});
