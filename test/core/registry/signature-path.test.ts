import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectModels } from '../../../src/core/govern/evidence/models';
import { addModel } from '../../../src/core/govern/admission';
import { parseManifest, serializeManifest, type ModelManifest } from '../../../src/core/registry/manifest';
import { initRegistry } from '../../../src/core/govern/ops';
import { checkVersionSignature } from '../../../src/core/registry/signature';
import { generateKeys, loadPublicKey, type TrustedKey } from '../../../src/core/signing/keys';
import { makeRepo, weights, type TestRepo } from './repo';

/** Fails the test instead of hanging when a read blocks (a FIFO, /dev/zero). */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still reading after ${ms} ms (it hangs)`)), ms).unref())]);
}

describe("a manifest's signature.path stays a regular, bounded file inside the repository", function () {
  this.timeout(60_000);
  let repo: TestRepo;
  let manifest: ModelManifest;
  let manifestFile: string;
  let keys: TrustedKey[];
  const dir = '.sovereign/models/m';

  before(async () => {
    repo = await makeRepo();
    await initRegistry(repo.root);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    const k = await generateKeys(join(repo.base, 'keys'));
    const added = await addModel(repo.root, { input: await repo.write('../w.bin', weights()), name: 'm', version: '1.0.0', privateKey: k.privateKeyPath });
    manifest = added.manifest;
    manifestFile = added.manifestFile;
    keys = [await loadPublicKey(k.publicKeyPath)];
    // The real bundle, copied to places a manifest must not point at.
    const bundle = await readFile(join(repo.root, `${dir}/1.0.0.sig`));
    await writeFile(join(repo.base, 'outside.sig'), bundle);
    await symlink(join(repo.base, 'outside.sig'), join(repo.root, dir, 'link.sig'));
    await mkdir(join(repo.base, 'outdir'));
    await writeFile(join(repo.base, 'outdir', 'x.sig'), bundle);
    await symlink(join(repo.base, 'outdir'), join(repo.root, '.sovereign', 'linkdir'));
    execFileSync('mkfifo', [join(repo.root, dir, 'fifo.sig')]);
    await writeFile(join(repo.root, dir, 'big.sig'), Buffer.alloc(2 * 1024 * 1024, 0x20));
  });
  after(() => repo.cleanup());

  const check = (path: string) => within(5000, checkVersionSignature(repo.root, { ...manifest, signature: { ...manifest.signature!, path } }, manifestFile, keys, new Map()));

  it('the real signature still verifies', async () => {
    assert.equal((await check(`${dir}/1.0.0.sig`)).status, 'valid');
  });

  const cases: [string, string, RegExp][] = [
    ['a ".." escape', '../../etc/passwd', /"\.\.\/\.\.\/etc\/passwd" is refused: it contains a "\.\." segment/],
    ['an absolute device path', '/dev/zero', /"\/dev\/zero" is refused: it is an absolute path/],
    ['a FIFO', `${dir}/fifo.sig`, /fifo\.sig is not a regular file \(a FIFO\)/],
    ['a symbolic link out of the repository', `${dir}/link.sig`, /link\.sig is a symbolic link/],
    ['a folder linked out of the repository', '.sovereign/linkdir/x.sig', /x\.sig resolves to .*outside the repository/],
    ['an oversized file', `${dir}/big.sig`, /big\.sig is 2097152 bytes, over the 1048576-byte limit/],
  ];
  for (const [what, path, reason] of cases) {
    it(`refuses ${what} clearly, without hanging`, async () => {
      const s = await check(path);
      assert.equal(s.status, 'invalid');
      assert.equal(s.failure, 'unsafe-signature-path');
      assert.match(s.reason ?? '', reason);
    });
  }

  it('the evidence collector refuses the same paths (no hang on the FIFO)', async () => {
    const text = await readFile(join(repo.root, manifestFile), 'utf8');
    await writeFile(join(repo.root, manifestFile), text.replace(`path: ${dir}/1.0.0.sig`, `path: ${dir}/fifo.sig`));
    try {
      const models = await within(5000, collectModels(repo.root));
      const m = models.find((x) => x.name === 'm')!;
      assert.ok(m.problems.some((p) => /fifo\.sig is not a regular file \(a FIFO\)/.test(p)), m.problems.join('\n'));
    } finally {
      await writeFile(join(repo.root, manifestFile), text);
    }
  });

  it('the schema forbids absolute paths, ".." segments and over-long paths', () => {
    for (const path of ['../../etc/passwd', '/dev/zero', 'a/../../b', 'a\\b', `${'a/'.repeat(600)}x.sig`]) {
      const text = serializeManifest({ ...manifest, signature: { ...manifest.signature!, path } });
      const parsed = parseManifest(text, manifestFile, { name: 'm', version: '1.0.0' });
      assert.ok(parsed.problems.some((p) => p.path.join('.') === 'signature.path'), `${path}: ${JSON.stringify(parsed.problems)}`);
    }
    const ok = parseManifest(serializeManifest(manifest), manifestFile, { name: 'm', version: '1.0.0' });
    assert.deepEqual(ok.problems, []);
  });
});
