import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRepo, runMain, weights, type TestRepo } from '../core/registry/repo';
import { assertValidSarif } from '../helpers/sarif';

describe('sovereign policy init / check (CLI contract)', function () {
  this.timeout(60_000);
  let repo: TestRepo;
  before(async () => {
    repo = await makeRepo();
    const init = await runMain(['policy', 'init'], repo.root);
    assert.equal(init.code, 0, init.stderr);
    assert.equal(repo.git('log', '-1', '--format=%s').trim(), 'policy: init default policy');
    // The documented default requires license and source: registering without them is refused (exit 1).
    await repo.write('../w.bin', weights());
    const refused = await runMain(['registry', 'add', join(repo.base, 'w.bin'), '--name', 'w', '--version', '1.0.0'], repo.root);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\[required-field\] required field "license" is missing/);
    const ok = await runMain(['registry', 'add', join(repo.base, 'w.bin'), '--name', 'w', '--version', '1.0.0', '--license', 'mit', '--source', 'https://example.com/w'], repo.root);
    assert.equal(ok.code, 0, ok.stderr);
  });
  after(() => repo.cleanup());

  it('exit 0 without violations; init refuses to overwrite', async () => {
    const r = await runMain(['policy', 'check'], repo.root);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /0 violation\(s\) in 1 version\(s\)/);
    assert.equal((await runMain(['policy', 'init'], repo.root)).code, 2);
  });

  it('exit 1 with file:line in text, JSON and SARIF', async () => {
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\nlicenses:\n  allowed: [apache-2.0]\n');
    const text = await runMain(['policy', 'check'], repo.root);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /^\.sovereign\/models\/w\/1\.0\.0\.yaml:\d+:\d+: \[license\] license "mit" is not on the allowlist/m);
    const json = JSON.parse((await runMain(['policy', 'check', '--format', 'json'], repo.root)).stdout) as { violations: { rule: string; line: number }[] };
    assert.equal(json.violations[0].rule, 'license');
    const sarif = JSON.parse((await runMain(['policy', 'check', '--format', 'sarif'], repo.root)).stdout) as unknown;
    assertValidSarif(sarif); // the official SARIF 2.1.0 schema + what GitHub code scanning needs
    assert.equal(sarif.runs[0].results![0].ruleId, 'license');
    assert.equal(sarif.runs[0].results![0].locations![0].physicalLocation!.region!.startLine, json.violations[0].line);
  });

  it('exit 2 for a malformed policy, with file:line:col', async () => {
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\nlicences:\n  allowed: [mit]\n');
    const r = await runMain(['policy', 'check'], repo.root);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\.sovereign\/policy\.yaml:2:1: unknown field "licences"; remove it or fix its spelling/);
    assert.equal((await runMain(['policy', 'check', '--format', 'xml'], repo.root)).code, 2);
  });
});
