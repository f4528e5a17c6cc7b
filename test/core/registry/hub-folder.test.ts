import { strict as assert } from 'node:assert';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkShardIndexes, readModelCard } from '../../../src/core/registry/hub-folder';
import { writeHubFolder } from '../../fixtures/safetensors/hub-folder';
import { tempDir } from '../../helpers/tmp';

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('hub folders: model card front matter and shard indexes', () => {
  let dir: { path: string; cleanup(): Promise<void> };
  let n = 0;
  const sub = () => join(dir.path, `f${++n}`);
  before(async () => {
    dir = await tempDir('sovereign-hub-');
  });
  after(() => dir.cleanup());

  it('reads licence (license_name for "other"), base model, relation and datasets; CRLF and a BOM are fine', async () => {
    const d = sub();
    await writeHubFolder(d);
    const text = '\uFEFF---\r\nlicense: other\r\nlicense_name: llama3.1\r\nbase_model: meta-llama/Llama-3.1-8B\r\nbase_model_relation: quantized\r\ndatasets: tatsu-lab/alpaca\r\n---\r\n# card\r\n';
    await writeFile(join(d, 'README.md'), text);
    const card = await readModelCard(d, await files(d));
    assert.deepEqual(card, { path: 'README.md', license: 'llama3.1', baseModel: ['meta-llama/Llama-3.1-8B'], baseModelRelation: 'quantized', datasets: ['tatsu-lab/alpaca'], problems: [] });
  });

  it('a card that cannot be used is a problem, never an error: unclosed front matter, bad YAML, an alias bomb', async () => {
    const d = sub();
    await writeHubFolder(d);
    const cases: [string, RegExp][] = [
      ['---\nlicense: mit\n# no closing line\n', /not closed by a "---" line/],
      ['---\nlicense: [mit\n---\n', /not valid YAML/],
      ['---\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n---\n', /cannot be read/],
      ['---\n- just\n- a list\n---\n', /not a mapping/],
    ];
    for (const [text, problem] of cases) {
      await writeFile(join(d, 'README.md'), text);
      const card = await readModelCard(d, await files(d));
      assert.ok(card, text);
      assert.equal(card.license, undefined);
      assert.match(card.problems.join('\n'), problem);
    }
    await writeFile(join(d, 'README.md'), '# no front matter\n');
    assert.equal(await readModelCard(d, await files(d)), undefined);
    assert.equal(await readModelCard(d, ['config.json']), undefined);
  });

  it('a complete folder agrees with its index', async () => {
    const d = sub();
    await writeHubFolder(d);
    const check = await checkShardIndexes(d, await files(d));
    assert.deepEqual(check.problems, []);
    assert.deepEqual(check.warnings, []);
    assert.deepEqual(check.indexes, [{ index: 'model.safetensors.index.json', shards: ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'], tensors: 4 }]);
  });

  it('an index that is not JSON, has no weight_map, or points outside the folder is a problem', async () => {
    const d = sub();
    await writeHubFolder(d);
    const index = join(d, 'model.safetensors.index.json');
    const cases: [string, RegExp][] = [
      ['{ not json', /is not valid JSON/],
      ['{"metadata": {}}', /no "weight_map" object/],
      ['{"weight_map": {"a": "../../etc/passwd"}}', /maps a to "\.\.\/\.\.\/etc\/passwd", a path outside the folder/],
      ['{"weight_map": {"a": 7}}', /maps a to 7, not a file name/],
    ];
    for (const [text, problem] of cases) {
      await writeFile(index, text);
      assert.match((await checkShardIndexes(d, await files(d))).problems.join('\n'), problem, text);
    }
  });

  it('split GGUF files and single-file weights need no index; safetensors shards without one are only a warning', async () => {
    const d = sub();
    const list = ['model-00001-of-00002.gguf', 'model-00002-of-00002.gguf', 'model.safetensors', 'config.json'];
    assert.deepEqual(await checkShardIndexes(d, list), { indexes: [], problems: [], warnings: [] });
    const unindexed = await checkShardIndexes(d, ['consolidated-00001-of-00002.safetensors', 'consolidated-00002-of-00002.safetensors']);
    assert.deepEqual(unindexed.problems, []);
    assert.match(unindexed.warnings.join('\n'), /no index beside them/);
  });
});
