import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { platformBlockers } from '../../scripts/package/check-npm-ci';
import { REPO_ROOT } from '../../scripts/package/package';

interface Manifest {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  overrides?: Record<string, string>;
}

// `npm ci` on macOS and Windows: npm refuses a REQUIRED package whose os/cpu exclude the machine (EBADPLATFORM),
// and checks required packages against the real machine even with --os/--cpu. So the lock itself must hold no
// required package of one platform. (`npm run check:npm-ci` runs the real installs for darwin and win32.)
describe('npm installs on every platform the extension ships for', () => {
  it('the lock file requires no package of one platform only', async () => {
    const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Parameters<typeof platformBlockers>[0];
    assert.deepEqual(platformBlockers(lock), []);
  });

  it('the check catches a hard dependency on a platform package (as @node-llama-cpp/linux-x64 was)', () => {
    const blockers = platformBlockers({
      packages: {
        '': {},
        'node_modules/@node-llama-cpp/linux-x64': { os: ['linux'], cpu: ['x64'] },
        'node_modules/@node-llama-cpp/mac-x64': { os: ['darwin'], cpu: ['x64'], optional: true },
        'node_modules/onnxruntime-node': { os: ['win32', 'darwin', 'linux'] },
      },
    });
    assert.deepEqual(blockers.map((b) => b.split(' ')[0]), Array(4).fill('node_modules/@node-llama-cpp/linux-x64'));
    assert.ok(blockers.some((b) => b.includes('refuses darwin-arm64')) && blockers.some((b) => b.includes('refuses win32-x64')));
  });

  it('every GPU build of llama.cpp is kept out of a plain install, and the lock records them as never installable', async () => {
    const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
    const llama = JSON.parse(await readFile(join(REPO_ROOT, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    const gpu = Object.keys(llama.optionalDependencies).filter((n) => /-(cuda|cuda-ext|vulkan)$/.test(n));
    assert.ok(gpu.length >= 6, `node-llama-cpp lists ${gpu.join(', ')}`);
    const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { name?: string; os?: string[]; optional?: boolean }> };
    for (const name of gpu) {
      assert.ok(manifest.overrides?.[name], `${name} has no override: a plain npm ci would install it`);
      const entries = Object.entries(lock.packages).filter(([path]) => path.endsWith(`node_modules/${name}`));
      assert.ok(entries.length > 0, `${name} is not in the lock`);
      for (const [path, entry] of entries) {
        assert.equal(entry.optional, true, path);
        assert.ok(entry.os && !entry.os.some((os) => ['linux', 'darwin', 'win32'].includes(os)), `${path} could install on ${entry.os?.join(',')}`);
      }
    }
    // No platform package is a direct dependency any more: npm picks the machine's own through the optional ones.
    const direct = [...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)].filter((n) => /^@node-llama-cpp\/|^@litko\/yara-x-|^@esbuild\//.test(n));
    assert.deepEqual(direct, []);
  });
});
