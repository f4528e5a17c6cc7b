/**
 * The layering check of `npm run lint` (dependency-cruiser with .dependency-cruiser.cjs, docs/ARCHITECTURE.md)
 * must refuse what the architecture forbids: it is run here on a small tree whose every file breaks one
 * rule, so a rule that stopped matching (a renamed folder, a typo in a pattern) fails this test instead of
 * silently allowing everything. The real tree is checked by the lint step itself.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './helpers/cli';

const TREE: Record<string, string> = {
  // a ground-floor folder importing a use case
  'src/core/workspace/paths.ts': "import { admit } from '../govern/admission';\nexport const p = admit;\n",
  'src/core/govern/admission.ts': "export const admit = 1;\n",
  // a domain importing a use case, and a domain importing a higher domain
  'src/core/registry/store.ts': "import { admit } from '../govern/admission';\nimport { rule } from '../policy/rules';\nexport const s = admit + rule;\n",
  'src/core/policy/rules.ts': 'export const rule = 1;\n',
  // a cycle inside formats
  'src/core/formats/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
  'src/core/formats/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
  // core running browser code, and importing a front end
  'src/core/views/layout.ts': "import { draw } from '../../../webview/lineage/main';\nimport { run } from '../../cli/main';\nexport const l = draw + run;\n",
  'webview/lineage/main.ts': 'export const draw = 1;\n',
  'src/cli/main.ts': 'export const run = 1;\n',
  // a webview importing host code
  'webview/policy/main.ts': "import { rule } from '../../src/core/policy/rules';\nexport const m = rule;\n",
  // a CLI command borrowing from a sibling
  'src/cli/commands/bench.ts': "import { helper } from './serve';\nexport const b = helper;\n",
  'src/cli/commands/serve.ts': 'export const helper = 1;\n',
};

const EXPECTED = [
  'no-upward-from-util: src/core/workspace/paths.ts -> src/core/govern/admission.ts',
  'no-upward-from-registry: src/core/registry/store.ts -> src/core/govern/admission.ts',
  'no-upward-from-registry: src/core/registry/store.ts -> src/core/policy/rules.ts',
  'no-cycles: src/core/formats/a.ts -> src/core/formats/b.ts',
  'core-is-not-a-front-end: src/core/views/layout.ts -> webview/lineage/main.ts',
  'core-names-only-webview-contracts: src/core/views/layout.ts -> webview/lineage/main.ts',
  'core-is-not-a-front-end: src/core/views/layout.ts -> src/cli/main.ts',
  'webview-is-browser-code: webview/policy/main.ts -> src/core/policy/rules.ts',
  'cli-commands-share-through-one-place: src/cli/commands/bench.ts -> src/cli/commands/serve.ts',
];

interface CruiseViolation {
  rule: { name: string };
  from: string;
  to: string;
}

describe('the layering check (dependency-cruiser, as `npm run lint` runs it)', function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-layering-'));
    for (const [file, text] of Object.entries(TREE)) {
      await mkdir(dirname(join(dir, file)), { recursive: true });
      await writeFile(join(dir, file), text);
    }
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses every import against the floors, cycles, core reaching a front end, browser code reaching the host, and sibling CLI commands', async () => {
    const depcruise = join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [depcruise, 'src', 'webview', '--config', join(REPO_ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json'], { cwd: dir, maxBuffer: 32 << 20 }, (err, stdout, stderr) =>
        // depcruise exits with the number of errors: the report is on stdout either way.
        stdout ? resolve(stdout) : reject(err ?? new Error(stderr)),
      ),
    );
    const violations = (JSON.parse(out) as { summary: { violations: CruiseViolation[] } }).summary.violations;
    const seen = violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    for (const expected of EXPECTED) {
      if (expected.startsWith('no-cycles')) assert.ok(seen.some((s) => s.startsWith('no-cycles: src/core/formats/')), `a cycle in formats is refused; saw:\n${seen.join('\n')}`);
      else assert.ok(seen.includes(expected), `${expected}\nnot refused; saw:\n${seen.join('\n')}`);
    }
    // Nothing is refused that the tree does not break: the allowed arrows stay allowed.
    assert.ok(!seen.some((s) => s.includes('govern/admission.ts ->') || s.includes('policy/rules.ts ->')), seen.join('\n'));
  });
});
