import assert from 'node:assert/strict';
import { buildFimPrompt, findFimTemplate, getFimTemplate, FIM_TEMPLATES } from '../../../src/core/fim/templates';

describe('FIM templates', () => {
  const input = { prefix: 'def add(a, b):\n    return ', suffix: '\n\nprint(add(1, 2))' };
  const prompt = (family: string): string => buildFimPrompt(getFimTemplate(family)!, input);

  it('covers the six families', () => {
    assert.deepEqual(FIM_TEMPLATES.map((t) => t.family), ['qwen2.5-coder', 'codegemma', 'starcoder', 'codellama', 'deepseek-coder', 'codestral']);
  });

  it('writes the exact prompt strings of each family', () => {
    const { prefix: P, suffix: S } = input;
    assert.equal(prompt('qwen2.5-coder'), `<|fim_prefix|>${P}<|fim_suffix|>${S}<|fim_middle|>`);
    assert.equal(prompt('codegemma'), `<|fim_prefix|>${P}<|fim_suffix|>${S}<|fim_middle|>`);
    assert.equal(prompt('starcoder'), `<fim_prefix>${P}<fim_suffix>${S}<fim_middle>`);
    assert.equal(prompt('codellama'), `<PRE> ${P} <SUF>${S} <MID>`);
    assert.equal(prompt('deepseek-coder'), `<\uff5cfim\u2581begin\uff5c>${P}<\uff5cfim\u2581hole\uff5c>${S}<\uff5cfim\u2581end\uff5c>`);
    assert.equal(prompt('codestral'), `[SUFFIX]${S}[PREFIX]${P}`);
  });

  it('puts extra files before the prefix when the family has a file separator', () => {
    const t = getFimTemplate('qwen2.5-coder')!;
    const text = buildFimPrompt(t, { ...input, extra: [{ filename: 'util.py', text: 'X = 1' }] });
    assert.ok(text.startsWith('<|file_sep|>util.py\nX = 1\n<|fim_prefix|>'));
    const llama = buildFimPrompt(getFimTemplate('codellama')!, { ...input, extra: [{ filename: 'util.py', text: 'X = 1' }] });
    assert.ok(llama.startsWith('<PRE> '), 'CodeLlama has no file separator: extra context is left out');
  });

  it('finds the family by name first, then by a marker token', () => {
    assert.equal(findFimTemplate({ names: ['Qwen2.5-Coder-1.5B'] })?.family, 'qwen2.5-coder');
    assert.equal(findFimTemplate({ names: ['codegemma-2b'] })?.family, 'codegemma');
    assert.equal(findFimTemplate({ names: ['StarCoder2-3B'] })?.family, 'starcoder');
    assert.equal(findFimTemplate({ names: ['CodeLlama-7b-hf'] })?.family, 'codellama');
    assert.equal(findFimTemplate({ names: ['deepseek-coder-1.3b-base'] })?.family, 'deepseek-coder');
    assert.equal(findFimTemplate({ names: ['Codestral-22B-v0.1'] })?.family, 'codestral');
    assert.equal(findFimTemplate({ names: ['mystery'], hasToken: (t) => t === '<fim_prefix>' })?.family, 'starcoder');
    assert.equal(findFimTemplate({ names: ['Llama-3-8B-Instruct'], hasToken: () => false }), undefined);
  });
});
