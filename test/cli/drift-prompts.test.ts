import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { englishPrompts, longEnglishPrompts, russianPrompts, toPromptFile } from '../fixtures/prompts/promptSets';

interface PromptDriftJson { schema: string; drifted: boolean; model: string; live: { prompts: number }; baseline: { prompts: number }; features: { name: string; psi: number; drifted: boolean }[] }

describe('sovereign drift NAME@VERSION --prompts LIVE --baseline-prompts BASE (LLM traffic, real files)', function () {
  this.timeout(60_000);
  let dir: string;
  const f = (name: string): string => join(dir, name);
  const cli = (args: string[]) => runCli(['drift', 'chat@1.0.0', ...args], { cwd: dir });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-cli-prompt-drift-'));
    await writeFile(f('base.jsonl'), toPromptFile(englishPrompts(400, 1)));
    await writeFile(f('same.jsonl'), toPromptFile(englishPrompts(300, 2)));
    await writeFile(f('russian.jsonl'), toPromptFile(russianPrompts(300, 3)));
    await writeFile(f('long.jsonl'), toPromptFile(longEnglishPrompts(300, 5)));
    await writeFile(f('empty.jsonl'), '\n\n');
  });
  after(async () => dir && rm(dir, { recursive: true, force: true }));

  const run = async (live: string): Promise<{ code: number | null; j: PromptDriftJson; drifted: string[] }> => {
    const r = await cli(['--prompts', f(live), '--baseline-prompts', f('base.jsonl'), '--json']);
    const j = JSON.parse(r.stdout) as PromptDriftJson;
    return { code: r.code, j, drifted: j.features.filter((x) => x.drifted).map((x) => x.name) };
  };

  it('the same prompt distribution: exit 0, every summary under its threshold', async () => {
    const { code, j } = await run('same.jsonl');
    assert.equal(code, 0);
    assert.equal(j.schema, 'sovereign.prompt-drift/v1');
    assert.deepEqual([j.model, j.baseline.prompts, j.live.prompts], ['chat@1.0.0', 400, 300]);
    assert.deepEqual(j.features.map((x) => x.name), ['prompt_chars', 'prompt_words', 'script', 'tokens']);
    for (const x of j.features) assert.ok(typeof x.psi === 'number' && !x.drifted, `${x.name} PSI ${x.psi}`);
  });

  it('Cyrillic prompts: exit 1, the script summary drifted', async () => {
    const { code, drifted } = await run('russian.jsonl');
    assert.equal(code, 1);
    assert.ok(drifted.includes('script') && drifted.includes('tokens'), drifted.join());
  });

  it('much longer prompts: exit 1, the length summaries drifted (text report too)', async () => {
    const { code, drifted } = await run('long.jsonl');
    assert.equal(code, 1);
    assert.ok(drifted.includes('prompt_chars') && drifted.includes('prompt_words'), drifted.join());
    assert.ok(!drifted.includes('script'));
    const text = await cli(['--prompts', f('long.jsonl'), '--baseline-prompts', f('base.jsonl')]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /DRIFT prompt_chars/);
    assert.match(text.stdout, /drifted: prompt_chars, prompt_words/);
  });

  it('usage errors exit 2: a missing side, mixed with --data, a missing or empty file', async () => {
    const one = await cli(['--prompts', f('same.jsonl')]);
    assert.equal(one.code, 2);
    assert.match(one.stderr, /--baseline-prompts/);
    const mixed = await cli(['--prompts', f('same.jsonl'), '--baseline-prompts', f('base.jsonl'), '--data', f('x.csv')]);
    assert.equal(mixed.code, 2);
    const missing = await cli(['--prompts', f('nope.jsonl'), '--baseline-prompts', f('base.jsonl')]);
    assert.equal(missing.code, 2);
    const empty = await cli(['--prompts', f('empty.jsonl'), '--baseline-prompts', f('base.jsonl')]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /holds no prompts/);
  });
});
