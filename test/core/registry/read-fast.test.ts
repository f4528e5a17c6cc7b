import { mulberry32 } from '../../fixtures/prng';
import { strict as assert } from 'node:assert';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serializeManifest, parseManifest, type ModelManifest } from '../../../src/core/registry/manifest';
import { fastManifest } from '../../../src/core/registry/manifest-fast';
import { loadRegistry } from '../../../src/core/registry/read';
import { tempDir } from '../../helpers/tmp';

const SHA = 'ab'.repeat(32);
const KEY = 'cd'.repeat(32);

function base(name: string, version: string): ModelManifest {
  return { manifestVersion: 1, name, version, artifacts: [{ path: 'model.gguf', sha256: SHA, size: 4096, format: 'gguf' }] };
}

/** Strings that look like other YAML types, escapes, Unicode, line breaks: what a serializer must quote. */
const TRICKY_STRINGS = [
  'true', 'False', 'yes', 'no', 'on', 'null', '~', '', ' ', '1.0', '007', '0x1F', '0o17', '0b11', '1e5', '.inf', '-.inf', '.nan', '+1', '1_000',
  '2025-01-01', '2025-01-01T00:00:00Z', '12:30', 'a: b', 'a #b', '#x', '- x', '? x', '&a', '*a', '!tag', '%YAML', '@x', '`x`', '"q"', "'q'",
  'line1\nline2', 'trailing\n', '\ttab', 'back\\slash', 'é ü 中文 🙂', '\u0085 next line', '\u2028 sep', 'a'.repeat(300), '[x]', '{x: 1}', '|', '>', 'x,y',
];

/** A varied set of valid manifests, written the way `sovereign registry add` writes them. */
function corpus(): { text: string; name: string; version: string; m: ModelManifest }[] {
  const out: ModelManifest[] = [];
  const full: ModelManifest = {
    ...base('full', '1.2.3-rc.1+build.5'),
    description: 'A model with every field.\nSecond line: with a colon.',
    format: 'safetensors',
    parameter_count: 7_241_732_096,
    license: 'apache-2.0',
    authors: ['Ada', 'Grace Hopper <grace@example.com>'],
    source: { uri: 'https://huggingface.co/acme/x?rev=1#frag', kind: 'huggingface', revision: '0123456789012345678901234567890123456789' },
    artifacts: [
      { path: 'model-00001-of-00002.safetensors', sha256: SHA, size: 0, format: 'safetensors' },
      { path: 'sub dir/tokenizer.json', sha256: 'ef'.repeat(32), size: Number.MAX_SAFE_INTEGER },
    ],
    parents: [{ ref: 'base@1.0.0', derivation: 'fine-tune' }, { ref: `sha256:${SHA}` }],
    datasets: [{ name: 'the-stack', version: '2', digest: `sha256:${SHA}`, license: 'other', uri: 's3://b/k' }, { name: 'x' }],
    training: { code_commit: 'abc', parameters: { lr: 2e-4, epochs: 3, nested: { on: true, off: false, none: null, list: [1, 'two', 3.5, [4]] }, tiny: 1e-300, neg: -12 }, libraries: { torch: '2.4.0' } },
    metrics: { pass1: 0.41, big: 1e21, neg: -0.5, int: 3 },
    benchmarks: ['.sovereign/benchmarks/full/1.2.3/a.json'],
    scan: { tool: 'sovereign-scan', version: '0.1.0', verdict: 'pass', worst: 'none', findings: 0, scanned_at: '2025-01-01T00:00:00.000Z' },
    signature: { path: '.sovereign/models/full/1.2.3.sig', key_id: KEY, signed_at: '2025-01-01T00:00:05Z' },
    tags: { team: 'ml', 'odd key: with colon': 'v', '123': 'numeric key', 'true': 'bool key', 'null': 'null key' },
    created: '2025-01-01T00:00:00.000Z',
  };
  out.push(full, base('minimal', '0.0.1'));
  out.push({ ...base('empty-collections', '1.0.0'), authors: [], parents: [], datasets: [], metrics: {}, tags: {}, benchmarks: [], training: { parameters: {} } });
  TRICKY_STRINGS.forEach((s, i) => out.push({ ...base(`tricky-${i}`, '1.0.0'), description: s, authors: [s], tags: { [s || 'empty']: s }, training: { parameters: { [`k${i}`]: s } } }));
  return out.map((m) => ({ text: serializeManifest(m), name: m.name, version: m.version, m }));
}

/** Hand-written YAML the serializer never produces, valid or not. */
const HAND_WRITTEN: string[] = [
  'name: h\nversion: 1.0.0\nartifacts:\n- path: a\n  sha256: "SHA"\n  size: 1\n',
  '---\nname: h\nversion: 1.0.0\nartifacts:\n  - {path: a, sha256: SHA, size: 1}\n...\n',
  '\uFEFFname: h\r\nversion: 1.0.0\r\nartifacts:\r\n  - path: a\r\n    sha256: SHA\r\n    size: 1\r\n',
  "name: 'h'\nversion: \"1.0.0\"\ndescription: 'it''s'\nartifacts:\n  - path: \"a\\tb\"\n    sha256: SHA\n    size: 0x10\n",
  'name: h\nversion: 1.0.0\ndescription: |\n  literal\n   kept\n\n  lines\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 0o17\n',
  'name: h\nversion: 1.0.0\ndescription: >-\n  folded\n  text\n\n  para\nartifacts:\n  - path: a   # comment\n    sha256: SHA\n    size: 1\n',
  'name: h\nversion: 1.0.0\ndescription: plain\n  multi line\n  scalar\nartifacts:\n  - path: a\n    sha256: SHA\n    size: +1\n',
  'name: h\nversion: 1.0.0\ndescription: "double\n  quoted \\x41\\u00e9\\U0001F600\\N\\_\\L\\P\\e\\0\\ \\/ folded"\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\n',
  'name: h\nversion: 1.0.0\nartifacts: &arts\n  - path: a\n    sha256: SHA\n    size: 1\nbenchmarks: []\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - &a {path: a, sha256: SHA, size: 1}\n  - *a\n',
  'name: h\nversion: !!str 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: !!int "3"\n',
  '%YAML 1.1\n---\nname: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntags:\n  a: yes\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntags:\n  : empty key\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntags:\n  ~: tilde key\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntags:\n  null: null key\n  "null": quoted\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntags:\n  1: a\n  "1": b\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntraining:\n  parameters:\n    ? [a, b]\n    : c\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntraining:\n  parameters:\n    [a, b]: c\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntraining:\n  parameters:\n    <<: {a: 1}\n    __proto__: {polluted: true}\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\nmetrics:\n  a: .inf\n  b: -.Inf\n  c: .NaN\n  d: 1e999\n  e: -0\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\nmetrics:\n  a: 1_000\n  b: 0b11\n  c: .5\n  d: 1.\n  e: 1e+3\n  f: 0x_1\n',
  'name: h\nversion: 1.0.0\nname: dup\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\n  - path: a\n    sha256: SHA\n    size: 2\n',
  'name: h\nversion: 1.0.0\nartifacts:\n\t- path: a\n    sha256: SHA\n    size: 1\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n   size: 1\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: "a\n    sha256: SHA\n    size: 1\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\n---\nname: other\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: "a"#no space\n    sha256: SHA\n    size: 1\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\nmetrics: {}#no space\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ndescription: |\n  x\n\t\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntraining:\n  parameters:\n    list:\n      -\n - 4\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  -\n    path: a\n    sha256: SHA\n    size: 1\n',
  'name: h\nversion: 1.0.0 # trailing comment\nartifacts: # comment\n  # between\n  - path: a\n    sha256: SHA\n    size: 1\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ndescription: a: b\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ndescription: `tick`\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ndescription: @at\n',
  `name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntags:\n  ${'k'.repeat(1100)}: long key\n`,
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\ntags:\n  a: 1\n',
  'name: h\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\nscan:\n  scanned_at: 2025-13-45T99:00:00Z\n',
  'name: h\nversion: 01.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\n',
  'name: H\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: SHA\n    size: 1\n',
  '- name: h\n',
  'just a string\n',
  '',
  '# only a comment\n',
].map((t) => t.replace(/SHA/g, SHA));

/** The contract: when the fast path answers, the positional parser gives the same manifest and no problems. */
function assertAgrees(text: string, name: string, version: string, label: string): ModelManifest | undefined {
  const fast = fastManifest(text, { name, version });
  if (fast) {
    const slow = parseManifest(text, 'x.yaml', { name, version });
    assert.deepEqual(slow.problems, [], `${label}: the fast path accepted what the positional parser rejects:\n${text}`);
    assert.deepStrictEqual(fast, slow.manifest, `${label}: different values:\n${text}`);
  }
  return fast;
}

/** Deterministic PRNG, so a failure can be replayed. */
const rng = mulberry32;

const INSERTS = [' ', '  ', '\t', ':', ': ', '-', '- ', '#', ' #', '"', "'", '\n', '{', '}', '[', ']', ',', '&a ', '*a', '!', '|', '>', '? ', '%', '@', '`', '0', '1', '.', 'e', 'x', 'n', '~', '\\', '\r', '\r\n', '\u00e9', '\u0000', '\u0085', '\u00a0', '\u2028', '\ufeff', '\u3000', '\ud83d', '---\n', '...\n', '#', ' &', 'a:b', ' :', '\t#'];
const VALUES = ['null', '~', 'true', 'False', '0x10', '0o7', '1e3', '.inf', '-.inf', '.nan', '-0', "''", '""', '1_000', '0b11', '+1', '.5', '1.', 'yes', '2025-01-01', '[]', '{}', '[a]', '|\n  x', '>-\n  y', '"a\\x41"', "'it''s'", '123456789012345678901'];

function mutate(text: string, random: () => number): string {
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const lines = text.split('\n');
  const at = Math.floor(random() * text.length);
  const line = Math.floor(random() * lines.length);
  switch (Math.floor(random() * 7)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + pick(INSERTS) + text.slice(at);
    case 2:
      lines.splice(line, 0, lines[line]);
      return lines.join('\n');
    case 3:
      lines.splice(line, 1);
      return lines.join('\n');
    case 4: {
      const other = Math.floor(random() * lines.length);
      [lines[line], lines[other]] = [lines[other], lines[line]];
      return lines.join('\n');
    }
    case 5:
      lines[line] = random() < 0.5 ? ' '.repeat(1 + Math.floor(random() * 3)) + lines[line] : lines[line].replace(/^ {1,2}/, '');
      return lines.join('\n');
    default:
      lines[line] = lines[line].replace(/: .*$/, `: ${pick(VALUES)}`);
      return lines.join('\n');
  }
}

describe('registry index fast path (js-yaml) agrees with the positional parser', function () {
  this.timeout(120_000);

  it('gives exactly the same manifest for a varied corpus, and takes the fast path for what the serializer writes', () => {
    let fast = 0;
    for (const c of corpus()) {
      const m = assertAgrees(c.text, c.name, c.version, c.name);
      assert.deepStrictEqual(parseManifest(c.text, 'x.yaml', c).manifest, c.m, `${c.name} round-trips through serializeManifest`);
      if (m) fast++;
    }
    // Everything but the strings that need a flow collection, an indicator or a long line must be fast.
    const total = corpus().length;
    assert.ok(fast >= total - 16, `fast path taken for ${fast} of ${total}`);
  });

  it('agrees on hand-written YAML (comments, CRLF, BOM, block scalars, escapes, anchors, tags, odd keys, errors)', () => {
    const taken: number[] = [];
    HAND_WRITTEN.forEach((text, i) => {
      if (assertAgrees(text, 'h', '1.0.0', `hand-written #${i}`)) taken.push(i);
    });
    // The plain ones are fast: indentation styles, CRLF and BOM, quoting, block scalars, comments.
    const plain = [0, 2, 3, 4, 5, 6, HAND_WRITTEN.findIndex((t) => t.includes('# trailing comment'))];
    for (const i of plain) assert.ok(taken.includes(i), `hand-written #${i} should take the fast path`);
  });

  // SOVEREIGN_FUZZ=200000 (and SOVEREIGN_FUZZ_SEED) runs a longer search for disagreements.
  const iterations = Number(process.env.SOVEREIGN_FUZZ ?? 3000);
  it(`agrees on ${iterations} random mutations of real manifests (deleted, inserted, swapped, re-indented text)`, function () {
    this.timeout(Math.max(120_000, iterations * 5));
    const random = rng(Number(process.env.SOVEREIGN_FUZZ_SEED ?? 20250101));
    const seeds = corpus().slice(0, 3).concat(corpus().filter((c) => c.name === 'tricky-20'));
    let accepted = 0;
    for (let i = 0; i < iterations; i++) {
      const seed = seeds[i % seeds.length];
      let text = seed.text;
      const steps = 1 + Math.floor(random() * 3);
      for (let s = 0; s < steps; s++) text = mutate(text, random);
      if (assertAgrees(text, seed.name, seed.version, `mutation #${i}`)) accepted++;
    }
    assert.ok(accepted > iterations / 10, `the fast path answered for ${accepted} mutations: too few to test anything`);
  });
});

describe('loadRegistry with the fast path and the lazy cache', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('sovereign-read-fast-');
    await mkdir(join(dir.path, '.git'));
  });
  afterEach(() => dir.cleanup());

  const write = async (rel: string, text: string): Promise<void> => {
    await mkdir(join(dir.path, rel, '..'), { recursive: true });
    await writeFile(join(dir.path, rel), text);
  };
  /** Backdate a file past the racy window, so that the cache trusts its stat. */
  const age = async (rel: string): Promise<void> => {
    const old = new Date(Date.now() - 60_000);
    await utimes(join(dir.path, rel), old, old);
  };
  const rel = (name: string, version: string): string => `.sovereign/models/${name}/${version}.yaml`;

  async function writeCorpus(): Promise<Map<string, ModelManifest>> {
    const expected = new Map<string, ModelManifest>();
    for (const c of corpus()) {
      await write(rel(c.name, c.version), c.text);
      expected.set(`${c.name}@${c.version}`, c.m);
    }
    return expected;
  }

  it('cold, warm and without a cache: the same entries, equal to what the positional parser reads', async () => {
    const expected = await writeCorpus();
    await write('.sovereign/models/full/aliases.yaml', 'production: 1.2.3-rc.1+build.5\n');
    const cold = await loadRegistry(dir.path);
    for (const c of corpus()) await age(rel(c.name, c.version));
    await loadRegistry(dir.path); // rewrites the cache with trusted stats
    const warm = await loadRegistry(dir.path);
    await rm(join(dir.path, '.git'), { recursive: true });
    const uncached = await loadRegistry(dir.path);
    for (const reg of [cold, warm, uncached]) {
      assert.deepEqual(reg.problems, []);
      assert.equal(reg.entries.length, expected.size);
      for (const e of reg.entries) {
        const want = expected.get(`${e.manifest.name}@${e.manifest.version}`);
        assert.deepStrictEqual(e.manifest, want, e.file);
        const text = await readFile(join(dir.path, e.file), 'utf8');
        assert.deepStrictEqual(e.manifest, parseManifest(text, e.file).manifest);
      }
      assert.deepEqual(reg.resolve('full@production').aliases, ['production']);
      assert.deepEqual(reg.names(), [...reg.names()].sort());
    }
    assert.deepStrictEqual(JSON.parse(JSON.stringify(warm.entries)), JSON.parse(JSON.stringify(uncached.entries)));
  });

  it('a malformed manifest yields problems at the right line and column, cold and warm', async () => {
    await write(rel('ok', '1.0.0'), serializeManifest(base('ok', '1.0.0')));
    await write(rel('bad', '1.0.0'), `name: bad\nversion: 1.0.0\nartifacts:\n  - path: x.bin\n    sha256: nothex\n    size: 3\nlicence: mit\n`);
    await write(rel('broken', '1.0.0'), `name: broken\nversion: 1.0.0\nartifacts:\n  - path: x.bin\n    sha256: "${SHA}\n    size: 3\n`);
    await write(rel('moved', '2.0.0'), serializeManifest(base('moved', '1.0.0')));
    const lines = async (): Promise<string[]> => (await loadRegistry(dir.path)).problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
    const cold = await lines();
    assert.ok(cold.some((l) => l.startsWith('.sovereign/models/bad/1.0.0.yaml:5:13: artifacts[0].sha256: "nothex" is not a valid sha256')), cold.join('\n'));
    assert.ok(cold.some((l) => l.startsWith('.sovereign/models/bad/1.0.0.yaml:7:1: unknown field "licence"')), cold.join('\n'));
    assert.ok(cold.some((l) => /^\.sovereign\/models\/broken\/1\.0\.0\.yaml:\d+:\d+: invalid YAML/.test(l)), cold.join('\n'));
    assert.ok(cold.some((l) => /^\.sovereign\/models\/moved\/2\.0\.0\.yaml:\d+:\d+: version "1\.0\.0" does not match the file name/.test(l)), cold.join('\n'));
    for (const f of ['ok', 'bad', 'broken']) await age(rel(f, '1.0.0'));
    await age(rel('moved', '2.0.0'));
    await loadRegistry(dir.path);
    assert.deepEqual(await lines(), cold, 'problems come back from the cache unchanged');
    assert.deepEqual((await loadRegistry(dir.path)).entries.map((e) => e.file), [rel('ok', '1.0.0')]);
  });

  it('follows edits of the same size inside the racy window, additions and removals', async () => {
    await write(rel('m', '1.0.0'), serializeManifest({ ...base('m', '1.0.0'), license: 'mit' }));
    await write(rel('m', '1.1.0'), serializeManifest(base('m', '1.1.0')));
    assert.equal((await loadRegistry(dir.path)).get('m', '1.0.0')?.manifest.license, 'mit');
    await write(rel('m', '1.0.0'), serializeManifest({ ...base('m', '1.0.0'), license: 'bsd' }));
    assert.equal((await loadRegistry(dir.path)).get('m', '1.0.0')?.manifest.license, 'bsd', 'same size, same second: still seen');
    await rm(join(dir.path, rel('m', '1.1.0')));
    await write(rel('n', '0.1.0'), serializeManifest(base('n', '0.1.0')));
    const reg = await loadRegistry(dir.path);
    assert.deepEqual(reg.entries.map((e) => `${e.manifest.name}@${e.manifest.version}`), ['m@1.0.0', 'n@0.1.0']);
  });

  it('a damaged or foreign cache is ignored or repaired, never believed', async () => {
    const expected = await writeCorpus();
    for (const c of corpus()) await age(rel(c.name, c.version));
    await loadRegistry(dir.path);
    const cacheFile = join(dir.path, '.git', 'sovereign', 'registry-index');
    const good = await readFile(cacheFile);
    const check = async (label: string): Promise<void> => {
      const reg = await loadRegistry(dir.path);
      assert.equal(reg.entries.length, expected.size, label);
      for (const e of reg.entries) assert.deepStrictEqual(e.manifest, expected.get(`${e.manifest.name}@${e.manifest.version}`), `${label}: ${e.file}`);
    };
    await writeFile(cacheFile, good.subarray(0, good.length - 100));
    await check('truncated');
    await writeFile(cacheFile, 'not a cache');
    await check('garbage');
    // Same length, one byte of a manifest changed: the lazy parse fails and the file is read again.
    const flipped = Buffer.from(good);
    flipped[flipped.indexOf(10) + 1] = '!'.charCodeAt(0);
    await writeFile(cacheFile, flipped);
    await check('a damaged manifest in the body');
    assert.deepEqual((await readdir(join(dir.path, '.git', 'sovereign'))).filter((f) => f !== 'registry-index'), [], 'no temp files left');
  });

  it('a registry still in use when the cache is rewritten reads its manifests from the right place', async () => {
    const expected = await writeCorpus();
    for (const c of corpus()) await age(rel(c.name, c.version));
    await loadRegistry(dir.path);
    const inUse = await loadRegistry(dir.path); // lazy: nothing parsed yet
    await write(rel('added', '1.0.0'), serializeManifest(base('added', '1.0.0')));
    await loadRegistry(dir.path); // rewrites (replaces) the cache file
    for (const e of inUse.entries) assert.deepStrictEqual(e.manifest, expected.get(`${e.manifest.name}@${e.manifest.version}`), e.file);
  });

  it('aliases files are cached too, and edits and problems in them are seen', async () => {
    await write(rel('m', '1.0.0'), serializeManifest(base('m', '1.0.0')));
    await write(rel('m', '1.1.0'), serializeManifest(base('m', '1.1.0')));
    const aliasesFile = '.sovereign/models/m/aliases.yaml';
    await write(aliasesFile, 'prod: 1.0.0\n');
    await age(aliasesFile);
    assert.deepEqual((await loadRegistry(dir.path)).get('m', '1.0.0')?.aliases, ['prod']);
    assert.deepEqual((await loadRegistry(dir.path)).get('m', '1.0.0')?.aliases, ['prod'], 'from the cache');
    await write(aliasesFile, 'prod: 1.1.0\n');
    assert.deepEqual((await loadRegistry(dir.path)).get('m', '1.1.0')?.aliases, ['prod'], 'same size, just edited');
    await write(aliasesFile, 'prod: 1.1.0\n9bad: 1.0.0\n');
    await age(aliasesFile);
    for (let i = 0; i < 2; i++) {
      const reg = await loadRegistry(dir.path);
      assert.deepEqual(reg.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`), [`${aliasesFile}:2:1: "9bad" is not a valid alias name`], `load ${i}`);
      assert.deepEqual(reg.aliases.get('m'), { prod: '1.1.0' });
    }
  });

  it('entries read from the cache behave as plain objects (spread, JSON, structuredClone, assignment)', async () => {
    await write(rel('p', '1.0.0'), serializeManifest({ ...base('p', '1.0.0'), license: 'mit' }));
    await age(rel('p', '1.0.0'));
    await loadRegistry(dir.path);
    const reg = await loadRegistry(dir.path);
    const entry = reg.entries[0];
    assert.deepEqual(Object.keys(entry).sort(), ['aliases', 'file', 'manifest']);
    assert.equal({ ...entry }.manifest.license, 'mit');
    assert.equal((JSON.parse(JSON.stringify(entry)) as typeof entry).manifest.license, 'mit');
    assert.equal(structuredClone(entry).manifest.license, 'mit');
    assert.equal(entry.manifest, entry.manifest, 'parsed once, then kept');
    entry.manifest = { ...entry.manifest, license: 'bsd' };
    assert.equal(entry.manifest.license, 'bsd');
  });

  it('keeps values JSON cannot hold (.inf, -0) exact across cached loads', async () => {
    await write(rel('inf', '1.0.0'), 'name: inf\nversion: 1.0.0\nartifacts:\n  - path: a\n    sha256: ' + SHA + '\n    size: -0\nmetrics:\n  worst: -.inf\n');
    await age(rel('inf', '1.0.0'));
    for (let i = 0; i < 3; i++) {
      const m = (await loadRegistry(dir.path)).get('inf', '1.0.0')?.manifest;
      assert.equal(m?.metrics?.worst, Number.NEGATIVE_INFINITY, `load ${i}`);
      assert.ok(Object.is(m?.artifacts[0].size, -0), `load ${i}`);
    }
  });

  it('a worktree or submodule (.git is a file) caches in its own git folder', async () => {
    await rm(join(dir.path, '.git'), { recursive: true });
    await mkdir(join(dir.path, 'gitdirs', 'wt'), { recursive: true });
    await writeFile(join(dir.path, '.git'), 'gitdir: gitdirs/wt\n');
    await write(rel('m', '1.0.0'), serializeManifest(base('m', '1.0.0')));
    assert.equal((await loadRegistry(dir.path)).entries.length, 1);
    assert.deepEqual(await readdir(join(dir.path, 'gitdirs', 'wt', 'sovereign')), ['registry-index']);
    assert.equal((await loadRegistry(dir.path)).entries[0].manifest.name, 'm');
  });

  it('sorts versions semantically (pre-releases before releases, 1.10 after 1.2), cold and warm', async () => {
    const versions = ['1.10.0', '1.0.0', '2.0.0-alpha', '0.9.9', '1.0.0-rc.1', '10.0.0', '1.2.0', '1.0.0-rc.10', '1.0.0-rc.2'];
    for (const v of versions) {
      await write(rel('s', v), serializeManifest(base('s', v)));
      await age(rel('s', v));
    }
    const want = ['0.9.9', '1.0.0-rc.1', '1.0.0-rc.2', '1.0.0-rc.10', '1.0.0', '1.2.0', '1.10.0', '2.0.0-alpha', '10.0.0'];
    for (let i = 0; i < 2; i++) {
      const reg = await loadRegistry(dir.path);
      assert.deepEqual(reg.versions('s').map((e) => e.manifest.version), want);
      assert.equal(reg.resolve('s').manifest.version, '10.0.0');
    }
  });

  it('removes the cache of the previous format', async () => {
    await write(rel('m', '1.0.0'), serializeManifest(base('m', '1.0.0')));
    await mkdir(join(dir.path, '.git', 'sovereign'), { recursive: true });
    await writeFile(join(dir.path, '.git', 'sovereign', 'registry-index.json'), '{"v":"2:x","files":{}}');
    await loadRegistry(dir.path);
    assert.deepEqual(await readdir(join(dir.path, '.git', 'sovereign')), ['registry-index']);
  });
});
