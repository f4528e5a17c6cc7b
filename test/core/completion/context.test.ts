import { strict as assert } from 'node:assert';
import { buildContext, CHARS_PER_TOKEN, isMultilineSpot, shouldSkipAutoTrigger } from '../../../src/core/completion/context';
import { fullPrefix, fullSuffix } from '../../../src/core/completion/types';
import { withCursor } from './doc';

describe('completion context', () => {
  it('splits prefix and suffix around the cursor, line by line', () => {
    const { doc, pos } = withCursor('a = 1\nb = |2 + x\nc = 3\n');
    const ctx = buildContext(doc, pos, [], { prefixTokens: 100, suffixTokens: 100, extraTokens: 0, redactSecrets: false });
    assert.equal(ctx.prefixAbove, 'a = 1\n');
    assert.equal(ctx.linePrefix, 'b = ');
    assert.equal(ctx.lineSuffix, '2 + x');
    assert.equal(ctx.suffixBelow, 'c = 3\n');
    assert.equal(fullPrefix(ctx) + fullSuffix(ctx), doc.lines.join('\n'));
  });

  it('keeps the windows inside their token budgets, nearest lines first', () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `const value${i} = compute(${i});`);
    const { doc, pos } = withCursor(lines.slice(0, 2500).join('\n') + '\n|' + lines.slice(2500).join('\n'));
    const ctx = buildContext(doc, pos, [], { prefixTokens: 256, suffixTokens: 64, extraTokens: 0, redactSecrets: false });
    assert.ok(ctx.prefixAbove.length <= 256 * CHARS_PER_TOKEN);
    assert.ok(ctx.prefixAbove.endsWith('const value2499 = compute(2499);\n'));
    assert.ok(fullSuffix(ctx).length <= 64 * CHARS_PER_TOKEN + 1);
    assert.ok(ctx.suffixBelow.startsWith('const value2501'));
  });

  it('redacts secrets from everything it sends, and counts them', () => {
    const { doc, pos } = withCursor('const key = "AKIAIOSFODNN7EXAMPLE";\nconst mail = "jane.doe@example.com";\n|');
    const ctx = buildContext(doc, pos, [{ filename: 'other.ts', text: 'token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"\n' }]);
    assert.doesNotMatch(ctx.prefixAbove, /AKIAIOSFODNN7EXAMPLE/);
    assert.doesNotMatch(ctx.prefixAbove, /jane\.doe@example\.com/);
    assert.doesNotMatch(ctx.extra[0].text, /ghp_abcdefghij/);
    assert.ok(ctx.redactions >= 3);
  });

  it('allows multi-line suggestions only on empty lines or after a block opener', () => {
    assert.equal(isMultilineSpot('    ', '', 'function f() {'), true);
    assert.equal(isMultilineSpot('function f() {', '', ''), true);
    assert.equal(isMultilineSpot('const x = ', '', ''), false);
    assert.equal(isMultilineSpot('foo(', ');', ''), false);
  });

  it('skips automatic triggers in the middle of text', () => {
    assert.equal(shouldSkipAutoTrigger(');'), false);
    assert.equal(shouldSkipAutoTrigger('someIdentifier + other'), true);
  });
});
