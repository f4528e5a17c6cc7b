import assert from 'node:assert/strict';
import { buildPromptBaseline, charClass, LivePromptWindow, promptOfBody, comparePrompts, parsePromptLines, scriptCounts, SCRIPT_CLASSES, tokenCounts, wordsOf } from '../../../src/core/drift/prompts';
import { PSI_EPSILON } from '../../../src/core/drift/stats';
import { Registry } from 'prom-client';
import { englishPrompts, japanesePrompts, longEnglishPrompts, russianPrompts, toPromptFile } from '../../fixtures/prompts/promptSets';

const close = (actual: number, expected: number, tol: number, what: string): void => assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
const src = { baseline: 'base', live: 'live' };
const feature = (r: ReturnType<typeof comparePrompts>, name: string) => r.features.find((f) => f.name === name)!;

describe('LLM prompt drift (src/core/drift/prompts.ts): length, script and word summaries against a baseline prompt set', () => {
  it('parses the deploy-canary prompt format: JSON objects, JSON strings, chat messages, plain lines; skips blank lines', () => {
    const text = '{"prompt": "a b", "max_tokens": 8}\n"quoted"\n\nplain {not json\n{"messages":[{"role":"user","content":"hi"},{"role":"user","content":"there"}]}\r\n';
    assert.deepEqual(parsePromptLines(text), ['a b', 'quoted', 'plain {not json', 'hi\nthere']);
  });

  it('classifies characters by script (heuristic) and counts words', () => {
    assert.deepEqual(['a', 'é', 'д', '中', 'カ', '한', 'α', '7', '{', '=', '.', '?'].map(charClass), ['latin', 'latin', 'cyrillic', 'cjk', 'cjk', 'cjk', 'other_letter', 'digit', 'code_punct', 'code_punct', 'other', 'other']);
    // "ab1{ д中": whitespace skipped; latin 2, cyrillic 1, cjk 1, digit 1, code_punct 1.
    assert.deepEqual(scriptCounts(['ab1{ д中']), [2, 1, 1, 0, 1, 1, 0]);
    assert.deepEqual(wordsOf('Fix THE bug, fix it!'), ['fix', 'the', 'bug', 'fix', 'it']);
    assert.deepEqual(tokenCounts(['fix the bug', 'fix it'], ['fix', 'the']), [2, 1, 2]);
  });

  it('hand-worked PSI: lengths 1..10 against 11..20 and all-Latin against all-Cyrillic', () => {
    const base = buildPromptBaseline(['a', 'aa', 'aaa', 'aaaa', 'aaaaa', 'aaaaaa', 'aaaaaaa', 'aaaaaaaa', 'aaaaaaaaa', 'aaaaaaaaaa']);
    assert.deepEqual(base.chars.edges, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(base.chars.counts, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(base.script.counts, [55, 0, 0, 0, 0, 0, 0]);
    const live = Array.from({ length: 10 }, (_, i) => 'д'.repeat(11 + i));
    const r = comparePrompts(base, live, src);
    const eps = PSI_EPSILON;
    // All ten live prompts fall in the last bin: 9 bins (eps - 0.1) ln(eps / 0.1) + (1 - 0.1) ln(1 / 0.1) = 8.2831.
    close(feature(r, 'prompt_chars').psi, 9 * (eps - 0.1) * Math.log(eps / 0.1) + 0.9 * Math.log(1 / 0.1), 1e-9, 'chars PSI');
    close(feature(r, 'prompt_chars').psi, 8.2831, 1e-4, 'chars PSI by hand');
    // Latin 1 -> eps, Cyrillic eps -> 1: 2 (1 - eps) ln(1 / eps) = 18.4188; the other classes are eps on both sides.
    close(feature(r, 'script').psi, 2 * (1 - eps) * Math.log(1 / eps), 1e-9, 'script PSI');
    close(feature(r, 'script').psi, 18.4188, 1e-4, 'script PSI by hand');
    assert.equal(feature(r, 'prompt_words').psi, 0, 'one word each on both sides');
    assert.equal(r.drifted, true);
    assert.deepEqual(Object.keys(feature(r, 'script').live.shares), [...SCRIPT_CLASSES]);
  });

  it('the same prompt distribution (another sample) reports no drift', () => {
    const r = comparePrompts(buildPromptBaseline(englishPrompts(400, 1)), englishPrompts(300, 2), src);
    for (const f of r.features) assert.ok(f.psi < 0.1 && !f.drifted, `${f.name} PSI ${f.psi}`);
    assert.equal(r.drifted, false);
  });

  it('Cyrillic or CJK traffic: the script (and word) summaries drift', () => {
    const base = buildPromptBaseline(englishPrompts(400, 1));
    for (const live of [russianPrompts(300, 3), japanesePrompts(300, 4)]) {
      const r = comparePrompts(base, live, src);
      assert.equal(feature(r, 'script').drifted, true);
      assert.ok(feature(r, 'script').psi > 5, `script PSI ${feature(r, 'script').psi}`);
      assert.equal(feature(r, 'tokens').drifted, true, 'every word falls in the other bucket');
      assert.equal(r.drifted, true);
    }
  });

  it('much longer prompts: the length summaries drift, the script does not', () => {
    const r = comparePrompts(buildPromptBaseline(englishPrompts(400, 1)), longEnglishPrompts(300, 5), src);
    assert.equal(feature(r, 'prompt_chars').drifted, true);
    assert.equal(feature(r, 'prompt_words').drifted, true);
    assert.ok(feature(r, 'prompt_chars').live.mean! > 5 * feature(r, 'prompt_chars').baseline.mean!);
    assert.equal(feature(r, 'script').drifted, false, `script PSI ${feature(r, 'script').psi}`);
  });

  it('the fixture file format round-trips through the parser', () => {
    const p = englishPrompts(10, 9).concat(russianPrompts(2, 9));
    assert.deepEqual(parsePromptLines(toPromptFile(p)), p);
  });

  it('the live window keeps the last N prompts; promptOfBody reads completions and chat bodies', () => {
    assert.equal(promptOfBody({ prompt: ['one'] }), 'one');
    assert.equal(promptOfBody({ messages: [{ role: 'system', content: 'a' }, { role: 'user', content: 'b' }] }), 'a\nb');
    assert.equal(promptOfBody({ prompt: 3 }), undefined);
    const w = new LivePromptWindow(buildPromptBaseline(['aaaa', 'bbbb']), 'base', { window: 3, minPrompts: 2 });
    w.observe('x');
    assert.deepEqual([w.report().features.length, w.report().drifted], [0, false]);
    for (const p of ['дддд', 'aaaa', 'bbbb', 'aaaa']) w.observe(p);
    const r = w.report();
    assert.deepEqual([r.observed, r.live.prompts], [5, 3]);
    assert.equal(feature(r, 'script').psi, 0, 'the Cyrillic prompt left the window');
  });
});

describe('prompt drift in /metrics: the gauges follow the window', () => {
  it('a scrape right after the window fills shows every summary (no stale empty answer from an earlier scrape)', async () => {
    const registry = new Registry();
    const window = new LivePromptWindow(buildPromptBaseline(englishPrompts(200, 21)), 'base.txt', { window: 100, minPrompts: 20 });
    window.registerMetrics(registry, 'm@1');
    const psiLines = async (): Promise<string[]> => (await registry.metrics()).split('\n').filter((l) => l.startsWith('sovereign_prompt_drift_psi{'));
    assert.deepEqual(await psiLines(), [], 'below minPrompts: no summaries yet');
    for (const p of russianPrompts(20, 22)) window.observe(p);
    const lines = await psiLines();
    assert.deepEqual(lines.map((l) => /summary="([^"]+)"/.exec(l)?.[1]), ['prompt_chars', 'prompt_words', 'script', 'tokens']);
    const script = Number(lines.find((l) => l.includes('summary="script"'))!.split(' ').at(-1));
    assert.equal(script, window.report().features.find((f) => f.name === 'script')!.psi);
    assert.match(await registry.metrics(), /sovereign_prompt_drift_summaries_drifted\{model="m@1"\} [1-4]/);
  });
});
