import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addPolicyException } from '../../../src/core/policy/add-exception';
import { parsePolicy } from '../../../src/core/policy/load';
import { tempDir } from '../../helpers/tmp';

describe('adding a policy exception (the quick fix)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir()));
  after(() => dir.cleanup());

  it('appends to exceptions, keeps comments, and the result validates against the policy schema', async () => {
    const file = join(dir.path, 'policy.yaml');
    await writeFile(file, '# our policy\nversion: 1\nlicenses:\n  allowed: [MIT] # only MIT\n');
    await addPolicyException(file, { model: 'coder', rule: 'license', justification: 'vendor agreement signed 2026-10', expires: '2099-01-01' });
    await addPolicyException(file, { model: 'coder', rule: 'signature-required', justification: 'key ceremony next week', expires: '2099-02-01' });
    const text = await readFile(file, 'utf8');
    assert.match(text, /# our policy/);
    assert.match(text, /# only MIT/);
    const { policy, problems } = parsePolicy(text, file);
    assert.deepEqual(problems, []);
    assert.deepEqual(policy?.exceptions?.map((e) => e.rule), ['license', 'signature-required']);
  });

  it('refuses to touch a policy that does not parse', async () => {
    const file = join(dir.path, 'broken.yaml');
    await writeFile(file, 'version: 1\nlicenses: [unclosed\n');
    await assert.rejects(addPolicyException(file, { model: 'm', rule: 'license', justification: 'long enough reason', expires: '2099-01-01' }), /does not parse/);
    assert.equal(await readFile(file, 'utf8'), 'version: 1\nlicenses: [unclosed\n');
  });
});
