import { strict as assert } from 'node:assert';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runMain } from '../core/registry/repo';
import { tempDir } from '../helpers/tmp';

describe('sovereign keygen / sign / verify (CLI contract)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let model: string;
  before(async () => {
    dir = await tempDir('sovereign-sign-cli-');
    model = join(dir.path, 'model');
    await mkdir(model);
    await writeFile(join(model, 'weights.bin'), Buffer.alloc(2048, 3));
    await writeFile(join(model, 'config.json'), '{}\n');
  });
  after(() => dir.cleanup());

  it('keygen -> sign -> verify: exit 0, and the output names the key', async () => {
    const a = await runMain(['keygen', '--out', join(dir.path, 'a'), '--json'], dir.path);
    assert.equal(a.code, 0, a.stderr);
    const keyId = (JSON.parse(a.stdout) as { keyId: string }).keyId;
    assert.equal((await runMain(['keygen', '--out', join(dir.path, 'b')], dir.path)).code, 0);
    const sign = await runMain(['sign', model, '--key', join(dir.path, 'a', 'private.pem')], dir.path);
    assert.equal(sign.code, 0, sign.stderr);
    assert.equal(sign.stdout, `${join(model, 'model.sig')}\n`);
    const verify = await runMain(['verify', model, '--key', join(dir.path, 'b', 'public.pem'), '--key', join(dir.path, 'a', 'public.pem')], dir.path);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, new RegExp(`^valid: 2 file\\(s\\) match, signed by key ${keyId}`));
  });

  it('exit 1 naming the changed file, exit 1 for the wrong key, exit 2 for usage errors', async () => {
    const file = join(model, 'weights.bin');
    const bytes = await readFile(file);
    bytes[10] ^= 0x80;
    await writeFile(file, bytes);
    const changed = await runMain(['verify', model, '--key', join(dir.path, 'a', 'public.pem'), '--json'], dir.path);
    assert.equal(changed.code, 1);
    assert.deepEqual((JSON.parse(changed.stdout) as { changed: string[] }).changed, ['weights.bin']);
    const wrong = await runMain(['verify', model, '--key', join(dir.path, 'b', 'public.pem')], dir.path);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /^INVALID: wrong key/);
    assert.equal((await runMain(['verify', model], dir.path)).code, 2, 'missing --key');
    assert.equal((await runMain(['verify', model, '--key', join(dir.path, 'a', 'public.pem'), '--signature', join(dir.path, 'nope.sig')], dir.path)).code, 2);
    assert.equal((await runMain(['sign', model, '--key', join(dir.path, 'a', 'public.pem')], dir.path)).code, 2, 'a public key cannot sign');
    assert.equal((await runMain(['keygen', '--out', join(dir.path, 'a')], dir.path)).code, 2, 'never overwrites');
  });
});
