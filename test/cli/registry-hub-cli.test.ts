import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EVIL_PICKLE, makeRepo, runMain, type TestRepo } from '../core/registry/repo';
import { writeHubFolder } from '../fixtures/safetensors/hub-folder';

interface Added {
  ok: boolean;
  stage?: string;
  message?: string;
  manifest: {
    format: string;
    license?: string;
    artifacts: { path: string; format?: string }[];
    datasets?: { name: string; uri?: string }[];
    provenance?: { model_card?: string; from_model_card?: string[]; base_model?: string[]; base_model_relation?: string };
  };
}

/** `sovereign registry add DIR` of a Hugging Face-style folder, through the CLI, on folders the suite writes. */
describe('sovereign registry add: a Hugging Face-style model folder', function () {
  this.timeout(120_000);
  let repo: TestRepo;
  let n = 0;
  const folder = async (options: Parameters<typeof writeHubFolder>[1] = {}): Promise<string> => {
    const dir = join(repo.base, `hub-${++n}`);
    await writeHubFolder(dir, options);
    return dir;
  };
  const add = (dir: string, ...args: string[]) => runMain(['registry', 'add', dir, '--version', '1.0.0', ...args], repo.root);

  before(async () => {
    repo = await makeRepo();
    assert.equal((await runMain(['registry', 'init'], repo.root)).code, 0);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
  });
  after(() => repo.cleanup());

  it('registers the whole folder as one version, with licence, datasets and base model from the model card (said on stderr and in provenance)', async () => {
    const dir = await folder();
    const r = await add(dir, '--name', 'tiny-coder', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Added;
    assert.equal(out.ok, true);
    const m = out.manifest;
    assert.deepEqual(m.artifacts.map((a) => a.path).sort(), [
      'README.md', 'config.json', 'generation_config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors',
      'model.safetensors.index.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    assert.equal(m.format, 'safetensors');
    assert.deepEqual(m.artifacts.filter((a) => a.format === 'safetensors').map((a) => a.path).sort(), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    assert.equal(m.license, 'apache-2.0');
    assert.deepEqual(m.datasets, [
      { name: 'HuggingFaceH4/ultrachat_200k', uri: 'https://huggingface.co/datasets/HuggingFaceH4/ultrachat_200k' },
      { name: 'openai/gsm8k', uri: 'https://huggingface.co/datasets/openai/gsm8k' },
    ]);
    assert.deepEqual(m.provenance, { model_card: 'README.md', from_model_card: ['license', 'datasets', 'base_model'], base_model: ['Qwen/Qwen2.5-0.5B'], base_model_relation: 'finetune' });
    assert.match(r.stderr, /license apache-2\.0 taken from the model card \(README\.md\)/);
    assert.match(r.stderr, /datasets HuggingFaceH4\/ultrachat_200k, openai\/gsm8k taken from the model card/);
    assert.match(r.stderr, /base model Qwen\/Qwen2\.5-0\.5B \(finetune\) taken from the model card/);

    // The manifest written to git reads back (schema-valid) and shows where the metadata came from.
    const show = await runMain(['registry', 'show', 'tiny-coder'], repo.root);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /base: {6}Qwen\/Qwen2\.5-0\.5B \(finetune\)/);
    assert.match(show.stdout, /from card: license, datasets, base_model \(README\.md\)/);
    const used = JSON.parse((await runMain(['registry', 'which-used', 'openai/gsm8k', '--json'], repo.root)).stdout) as { direct: { model: string }[] };
    assert.deepEqual(used.direct.map((d) => d.model), ['tiny-coder@1.0.0']);
    const log = repo.git('log', '-1', '--format=%B');
    assert.match(log, /base model Qwen\/Qwen2\.5-0\.5B \(finetune\)/);
    assert.match(log, /artifact model-00002-of-00002\.safetensors sha256:[0-9a-f]{64}/);
  });

  it('what the user gives wins over the card; only the rest is taken (and recorded)', async () => {
    const dir = await folder();
    const r = await add(dir, '--name', 'tiny-given', '--license', 'mit', '--dataset', 'inhouse@2024-06', '--json');
    assert.equal(r.code, 0, r.stderr);
    const m = (JSON.parse(r.stdout) as Added).manifest;
    assert.equal(m.license, 'mit');
    assert.deepEqual(m.datasets, [{ name: 'inhouse', version: '2024-06' }]);
    assert.deepEqual(m.provenance?.from_model_card, ['base_model']);
    assert.doesNotMatch(r.stderr, /license .* taken from the model card/);
  });

  it('a card without front matter, or with unusable fields, takes nothing and says why', async () => {
    const plain = await add(await folder({ frontMatter: null }), '--name', 'tiny-plain', '--json');
    assert.equal(plain.code, 0, plain.stderr);
    const pm = (JSON.parse(plain.stdout) as Added).manifest;
    assert.equal(pm.license, undefined);
    assert.equal(pm.provenance, undefined);
    const odd = await add(await folder({ frontMatter: 'license: [mit, apache-2.0]\nbase_model: {a: 1}\ndatasets: ../../etc' }), '--name', 'tiny-odd', '--json');
    assert.equal(odd.code, 0, odd.stderr);
    assert.equal((JSON.parse(odd.stdout) as Added).manifest.license, undefined);
    assert.match(odd.stderr, /warning: model card README\.md: license \["mit","apache-2\.0"\] is not a licence id \(ignored\)/);
    assert.match(odd.stderr, /base_model entry .* is not a hub id/);
    assert.match(odd.stderr, /datasets entry "\.\.\/\.\.\/etc" is not a hub id/);
  });

  it('the licence from the card is held to the policy like a given one', async () => {
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\nlicenses: { allowed: [mit] }\n');
    try {
      const r = await add(await folder(), '--name', 'tiny-policy', '--json');
      assert.equal(r.code, 1, r.stderr);
      const out = JSON.parse(r.stdout) as Added;
      assert.equal(out.stage, 'policy');
      assert.match(out.message ?? '', /\[license\].*apache-2\.0/);
    } finally {
      await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    }
  });

  it('a shard the index names but the folder lacks: exit 1, named, nothing registered', async () => {
    const r = await add(await folder({ dropShard: 2 }), '--name', 'tiny-missing');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /refused: the folder does not match its shard index/);
    assert.match(r.stderr, /model\.safetensors\.index\.json names 2 shard\(s\); missing: model-00002-of-00002\.safetensors/);
    assert.match(r.stderr, /huggingface-cli download/);
    const json = await add(await folder({ dropShard: 1 }), '--name', 'tiny-missing', '--json');
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as Added).stage, 'index');
    assert.equal((await runMain(['registry', 'show', 'tiny-missing'], repo.root)).code, 2);
  });

  it('an extra shard the index does not name, and a tensor the index maps to the wrong shard: exit 1', async () => {
    const extra = await add(await folder({ extraShard: true }), '--name', 'tiny-extra');
    assert.equal(extra.code, 1, extra.stderr);
    assert.match(extra.stderr, /model-00003-of-00003\.safetensors is a shard that no index names/);
    const remap = await add(await folder({ remapTensor: true }), '--name', 'tiny-remap');
    assert.equal(remap.code, 1, remap.stderr);
    assert.match(remap.stderr, /maps 1 tensor\(s\) to model-00002-of-00002\.safetensors, which does not contain them: model\.layers\.0\.mlp\.weight/);
    assert.match(remap.stderr, /model-00001-of-00002\.safetensors holds 1 tensor\(s\) that model\.safetensors\.index\.json does not map to it/);
  });

  it('shards without any index: registered, with a warning that there was nothing to check them against', async () => {
    const r = await add(await folder({ noIndex: true }), '--name', 'tiny-noindex');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: model-00001-of-00002\.safetensors, model-00002-of-00002\.safetensors are weight shards with no index beside them: nothing to check them against/);
  });

  it('every file is scanned: a finding in any one of them (a pickled training_args.bin) refuses the folder', async () => {
    const r = await add(await folder({ extra: { 'training_args.bin': EVIL_PICKLE } }), '--name', 'tiny-evil', '--json');
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as Added & { findings: { path: string; findings: { rule: string }[] }[] };
    assert.equal(out.stage, 'scan');
    assert.deepEqual(out.findings.map((f) => f.path), ['training_args.bin']);
    assert.ok(out.findings[0].findings.some((f) => f.rule === 'pickle/dangerous-global'));
  });
});
