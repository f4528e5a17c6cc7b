import { strict as assert } from 'node:assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Sarif from 'sarif';
import { scanPaths } from '../../../src/core/scan/scanner';
import { toSarif } from '../../../src/core/scan/sarif';
import { EVIL_PICKLE, makeRepo, runMain, weights, type TestRepo } from '../registry/repo';
import { torchZip } from '../../fixtures/zip/zip-writer';
import { assertValidSarif, githubSarifProblems, sarifSchemaErrors } from '../../helpers/sarif';

/**
 * Every SARIF log the CLI writes (scan, policy check) against the official SARIF 2.1.0 schema and what
 * GitHub code scanning needs (test/helpers/sarif.ts).
 */
describe('SARIF validity: the official 2.1.0 schema and GitHub code scanning', function () {
  this.timeout(60_000);
  let repo: TestRepo;
  let models: string;

  before(async () => {
    repo = await makeRepo();
    models = join(repo.root, 'models', 'suspicious set');
    await mkdir(models, { recursive: true });
    await writeFile(join(models, 'model.bin'), EVIL_PICKLE); // pickle calling os.system, innocent name
    await writeFile(join(models, 'checkpoint.pt'), torchZip(EVIL_PICKLE, {})); // a PyTorch zip whose data.pkl is evil
    await writeFile(join(models, 'broken.gguf'), Buffer.concat([Buffer.from('GGUF'), Buffer.from([3, 0, 0, 0, 1])])); // truncated header
    await writeFile(join(models, 'weights.gguf'), weights(256)); // a name that claims GGUF over other bytes
    await writeFile(join(models, 'notes.txt'), 'no findings here\n');
  });
  after(() => repo.cleanup());

  it('the checks are not vacuous: a log with the faults GitHub rejects is caught', () => {
    const bad = {
      version: '2.1.0',
      runs: [{ tool: { driver: { name: 'x', rules: [{ id: 'r' }] } }, results: [{ ruleId: 'r', message: { text: 'm' }, locations: [{ physicalLocation: { artifactLocation: { uri: 'a.bin', uriBaseId: 'SRCROOT' }, region: { startLine: 0 } } }] }] }],
    };
    assert.ok(sarifSchemaErrors(bad).some((e) => /startLine|minimum/.test(e)), 'region.startLine 0 breaks the schema');
    const problems = githubSarifProblems(bad as Sarif.Log).join('\n');
    for (const want of [/automationDetails/, /no help\.text/, /no https helpUri/, /no fullDescription/, /without uriBaseId %SRCROOT%/, /partialFingerprints/, /startLine >= 1/]) assert.match(problems, want);
    assert.ok(sarifSchemaErrors({ version: '2.1.0', runs: [{ tool: {} }] }).length > 0, 'a driver is required');
  });

  it('scan: the log for real findings (pickle, zip member, GGUF, name against content) is valid and GitHub-ready', async () => {
    const report = await scanPaths([models]);
    const log = toSarif(report, { toolVersion: '0.1.0', baseDir: repo.root });
    assertValidSarif(log);
    const run = log.runs[0];
    const rules = run.tool.driver.rules!.map((r) => r.id);
    for (const family of ['pickle/', 'gguf/', 'format/']) assert.ok(rules.some((r) => r.startsWith(family)), `a ${family} rule in ${rules.join(', ')}`);
    const uris = new Set(run.results!.map((r) => r.locations![0].physicalLocation!.artifactLocation!.uri));
    assert.ok(uris.has('models/suspicious%20set/model.bin'), [...uris].join(', '));
    assert.ok(uris.has('models/suspicious%20set/checkpoint.pt'));
    assert.ok(!uris.has('models/suspicious%20set/notes.txt'), 'no result without a finding');
    for (const r of run.results!) assert.equal(run.tool.driver.rules![r.ruleIndex!].id, r.ruleId);
    const pickleRule = run.tool.driver.rules!.find((r) => r.id === 'pickle/dangerous-global')!;
    assert.match(pickleRule.helpUri!, /\/docs\/formats-pickle\.md#rules$/);
    assert.match(pickleRule.help!.text, /What to do: Do not load the file/);
    assert.equal(pickleRule.properties!['security-severity'], '9.5');
    // The same findings give the same fingerprints on the next run (GitHub matches alerts across runs).
    const again = toSarif(await scanPaths([models]), { toolVersion: '0.1.0', baseDir: repo.root });
    assert.deepEqual(again.runs[0].results!.map((r) => r.partialFingerprints), run.results!.map((r) => r.partialFingerprints));
  });

  it('sovereign scan --format sarif from a subfolder: paths are relative to the repository root, and the file is valid', async () => {
    const out = join(repo.base, 'scan.sarif');
    const r = await runMain(['scan', '--format', 'sarif', '--output', out, '.'], models);
    assert.equal(r.code, 1, r.stderr);
    const log = JSON.parse(await readFile(out, 'utf8')) as unknown;
    assertValidSarif(log);
    const uris = log.runs[0].results!.map((x) => x.locations![0].physicalLocation!.artifactLocation!.uri!);
    assert.ok(uris.length >= 3);
    for (const uri of uris) assert.match(uri, /^models\/suspicious%20set\//);
    assert.equal(log.runs[0].automationDetails!.id, 'sovereign-scan/');
  });

  it('sovereign scan --format sarif of a clean file: a valid log with no results', async () => {
    const r = await runMain(['scan', '--format', 'sarif', join(models, 'notes.txt')], repo.root);
    assert.equal(r.code, 0, r.stderr);
    const log = JSON.parse(r.stdout) as unknown;
    assertValidSarif(log);
    assert.deepEqual(log.runs[0].results, []);
  });

  it('sovereign policy check --format sarif: violations at manifest lines, waived ones as suppressions, all valid', async () => {
    assert.equal((await runMain(['policy', 'init'], repo.root)).code, 0);
    await repo.write('../w.bin', weights());
    const add = await runMain(['registry', 'add', join(repo.base, 'w.bin'), '--name', 'w', '--version', '1.0.0', '--license', 'mit', '--source', 'https://example.com/w'], repo.root);
    assert.equal(add.code, 0, add.stderr);
    const until = new Date(Date.now() + 10 * 86400_000).toISOString().slice(0, 10);
    await writeFile(
      join(repo.root, '.sovereign/policy.yaml'),
      `version: 1\nlicenses:\n  allowed: [apache-2.0]\nsignature:\n  required: true\nexceptions:\n  - model: w\n    rule: signature-required\n    justification: "internal test model, signed at release"\n    expires: ${until}\n`,
    );
    const r = await runMain(['policy', 'check', '--format', 'sarif'], repo.root);
    assert.equal(r.code, 1, r.stderr);
    const log = JSON.parse(r.stdout) as unknown;
    assertValidSarif(log);
    const results = log.runs[0].results!;
    const licence = results.find((x) => x.ruleId === 'license')!;
    assert.equal(licence.locations![0].physicalLocation!.artifactLocation!.uri, '.sovereign/models/w/1.0.0.yaml');
    assert.ok(licence.locations![0].physicalLocation!.region!.startLine! > 1);
    const waived = results.find((x) => x.ruleId === 'signature-required')!;
    assert.equal(waived.suppressions![0].kind, 'external');
    assert.match(waived.suppressions![0].justification!, /internal test model/);
    assert.equal(log.runs[0].automationDetails!.id, 'sovereign-policy/');
  });
});
