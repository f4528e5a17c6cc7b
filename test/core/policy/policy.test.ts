import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluatePolicy } from '../../../src/core/policy/evaluate';
import { checkModelFile } from '../../../src/core/policy/gate';
import { allowedEndpoints, DEFAULT_POLICY, loadPolicy, parsePolicy, parseSize, PolicyFileError } from '../../../src/core/policy/load';
import { addModel } from '../../../src/core/govern/admission';
import { initRegistry, setAlias } from '../../../src/core/govern/ops';
import { generateKeys } from '../../../src/core/signing/keys';
import { EVIL_PICKLE, makeRepo, weights, type TestRepo } from '../registry/repo';

const day = (offset: number): string => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

describe('policy-as-code', function () {
  this.timeout(60_000);
  let repo: TestRepo;
  before(async () => {
    repo = await makeRepo();
    await initRegistry(repo.root);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    await addModel(repo.root, { input: await repo.write('../a.bin', weights()), name: 'alpha', version: '1.0.0', license: 'mit', source: { uri: 'https://huggingface.co/acme/alpha' } });
    await addModel(repo.root, { input: await repo.write('../b.bin', weights(9000)), name: 'beta', version: '2.0.0', license: 'gpl-3.0' });
    await setAlias(repo.root, 'beta@2.0.0', 'production');
  });
  after(() => repo.cleanup());

  /** 1-based line of the first line starting with `prefix`. */
  const lineOf = async (rel: string, prefix: string): Promise<number> => {
    const lines = (await readFile(join(repo.root, rel), 'utf8')).split('\n');
    const i = lines.findIndex((l) => l.startsWith(prefix));
    assert.ok(i >= 0, `${prefix} not in ${rel}`);
    return i + 1;
  };
  const setPolicy = (text: string): Promise<void> => writeFile(join(repo.root, '.sovereign/policy.yaml'), text);

  it('reports each violation at the manifest line it is about', async () => {
    await setPolicy(
      'version: 1\nlicenses:\n  allowed: [mit, apache-2.0]\nrequired_fields: [source]\nlimits:\n  max_file_size: 8KiB\nsources:\n  allowed: ["https://huggingface.co/acme/*"]\nsignature:\n  required_for_aliases: [production]\n',
    );
    const report = await evaluatePolicy(repo.root);
    const lines = report.violations.map((v) => `${v.file}:${v.line} ${v.rule} ${v.model}@${v.version}`);
    const manifest = '.sovereign/models/beta/2.0.0.yaml';
    const aliases = '.sovereign/models/beta/aliases.yaml';
    assert.deepEqual(lines.sort(), [
      `${manifest}:${await lineOf(manifest, '    size: 9000')} max-file-size beta@2.0.0`,
      `${manifest}:${await lineOf(manifest, 'name: beta')} required-field beta@2.0.0`,
      `${manifest}:${await lineOf(manifest, 'name: beta')} source beta@2.0.0`,
      `${manifest}:${await lineOf(manifest, 'license: gpl-3.0')} license beta@2.0.0`,
      `${aliases}:${await lineOf(aliases, 'production: 2.0.0')} signature-required beta@2.0.0`,
    ].sort());
    const license = report.violations.find((v) => v.rule === 'license')!;
    assert.match(license.message, /"gpl-3.0" is not on the allowlist/);
    assert.equal(report.versionsChecked, 2);
  });

  it('an active exception waives a violation; an expired one brings it back', async () => {
    const base = 'version: 1\nlicenses:\n  allowed: [mit]\nexceptions:\n  - model: beta\n    rule: license\n    justification: "legal approved internal use until the relicense"\n';
    await setPolicy(`${base}    expires: ${day(1)}\n`);
    let report = await evaluatePolicy(repo.root);
    assert.deepEqual(report.violations, []);
    assert.equal(report.waived.length, 1);
    assert.equal(report.waived[0].violation.rule, 'license');
    await setPolicy(`${base}    expires: ${day(-1)}\n`);
    report = await evaluatePolicy(repo.root);
    assert.equal(report.violations.length, 1);
    assert.match(report.violations[0].message, /expired on/);
    // Evaluated as of an earlier day, the same exception still applies.
    report = await evaluatePolicy(repo.root, { now: new Date(Date.now() - 3 * 86_400_000) });
    assert.equal(report.violations.length, 0);
  });

  it('a malformed policy names file:line:col and what to fix', async () => {
    const parsed = parsePolicy('version: 1\nformats:\n  denied: [pickles]\nexceptions:\n  - model: x\n    rule: format\n    justification: short\n    expires: tomorrow\n', '.sovereign/policy.yaml');
    const text = parsed.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}; ${p.fix}`);
    assert.ok(text.some((t) => /^\.sovereign\/policy\.yaml:3:12: formats\.denied\[0\]: "pickles" is not allowed; use one of: gguf/.test(t)), text.join('\n'));
    assert.ok(text.some((t) => /:8:14: .*"tomorrow" is not a valid date; write a date as YYYY-MM-DD/.test(t)), text.join('\n'));
    assert.ok(text.some((t) => /:7:.*justification/.test(t)), text.join('\n'));
    await setPolicy('version: 1\nendpoints:\n  allowed: ["10.0.0.0/33"]\n');
    await assert.rejects(loadPolicy(repo.root), (e: PolicyFileError) => e instanceof PolicyFileError && /policy\.yaml:3:13: "10\.0\.0\.0\/33" is not an endpoint rule/.test(e.message) && e.exitCode === 2);
  });

  it('allowedEndpoints: loopback and private ranges by default, the policy list otherwise', async () => {
    const defaults = allowedEndpoints(DEFAULT_POLICY);
    for (const r of ['127.0.0.0/8', '10.0.0.0/8', '192.168.0.0/16']) assert.ok(defaults.includes(r), r);
    assert.ok(!defaults.some((r) => r.startsWith('169.254')), 'link-local (cloud metadata) is not allowed by default');
    assert.deepEqual(allowedEndpoints(undefined), defaults);
    await setPolicy('version: 1\nendpoints:\n  allowed: [127.0.0.0/8, models.internal]\n');
    assert.deepEqual(allowedEndpoints((await loadPolicy(repo.root)).policy), ['127.0.0.0/8', 'models.internal']);
  });

  it('checkModelFile: refuses a denied format naming the rule; allows a clean file; applies manifest rules to registered files', async () => {
    await setPolicy('version: 1\nformats:\n  denied: [pickle]\nlicenses:\n  allowed: [mit]\n');
    const evil = await repo.write('../model.pkl', EVIL_PICKLE);
    const refused = await checkModelFile(repo.root, evil);
    assert.equal(refused.allowed, false);
    assert.ok(refused.violations.some((v) => v.rule === 'format' && /policy rule format: .*pickle files are denied/.test(v.message)), JSON.stringify(refused.violations));
    const outside = await checkModelFile(undefined, evil);
    assert.equal(outside.allowed, false, 'the default policy denies pickle outside a workspace too');

    const clean = await checkModelFile(repo.root, await repo.write('../fresh.bin', weights()));
    assert.equal(clean.allowed, true, JSON.stringify(clean.violations));
    assert.equal(clean.model, undefined);

    const registered = await checkModelFile(repo.root, join(repo.base, 'a.bin'));
    assert.equal(registered.allowed, true);
    assert.deepEqual(registered.model, { name: 'alpha', version: '1.0.0', aliases: [] });
    const gpl = await checkModelFile(repo.root, join(repo.base, 'b.bin'));
    assert.equal(gpl.allowed, false);
    assert.match(gpl.violations[0].message, /policy rule license/);
    assert.equal(gpl.model?.name, 'beta');
  });

  it('revoked keys: a version signed by a revoked key is a violation that no exception waives', async () => {
    const keys = await generateKeys(join(repo.base, 'keys-revoked'));
    await setPolicy(`version: 1\nsignature:\n  trusted_keys: [${join(repo.base, 'keys-revoked')}]\n`);
    await addModel(repo.root, { input: await repo.write('../c.bin', weights()), name: 'gamma', version: '1.0.0', privateKey: keys.privateKeyPath });
    assert.deepEqual((await evaluatePolicy(repo.root)).violations, []);
    await setPolicy(
      `version: 1\nsignature:\n  trusted_keys: [${join(repo.base, 'keys-revoked')}]\n  revoked_keys:\n    - key_id: ${keys.keyId}\n      reason: laptop stolen\nexceptions:\n  - model: gamma\n    rule: signature-revoked\n    justification: "trying to waive a revoked key"\n    expires: ${day(30)}\n`,
    );
    const report = await evaluatePolicy(repo.root);
    assert.equal(report.violations.length, 1);
    assert.equal(report.violations[0].rule, 'signature-revoked');
    assert.match(report.violations[0].message, /laptop stolen/);
    await assert.rejects(setAlias(repo.root, 'gamma@1.0.0', 'staging'), /signature-revoked/);
  });

  it('parses sizes', () => {
    assert.equal(parseSize('8GiB'), 8 * 1024 ** 3);
    assert.equal(parseSize('500 MB'), 500e6);
    assert.equal(parseSize(12), 12);
    assert.equal(parseSize('lots'), undefined);
  });
});
