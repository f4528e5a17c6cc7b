import { strict as assert } from 'node:assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectVsix, inspectVsixManifest } from '../../scripts/package/inspect';
import { packageTargets, REPO_ROOT, type PackagedVsix } from '../../scripts/package/package';
import { exclusionOf, isForeignOrtBinary, LLAMA_SOURCE_BUNDLE, RUNTIME_ROOTS, target, TARGETS, VSIX_BUDGET_BYTES, YARA_ROOT } from '../../scripts/package/targets';
import { tempDir } from '../helpers/tmp';

// Builds the five platform VSIXs with the real packager and vsce (offline: the other platforms' binary
// packages come from .cache/package/npm, filled by `npm run package:fetch`) from the dist/ that `npm run build`
// made, then reads each back.
describe('the platform VSIXs (npm run package)', function () {
  this.timeout(15 * 60_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let packed: PackagedVsix[];

  before(async () => {
    tmp = await tempDir('sovereign-vsix-');
    packed = await packageTargets({ out: tmp.path, offline: true, skipBuild: true, log: (l) => process.stderr.write(`      ${l}\n`) });
  });
  after(async () => {
    await tmp?.cleanup();
  });

  it('writes one VSIX per target, each naming its platform', () => {
    assert.deepEqual(packed.map((p) => p.target), TARGETS.map((t) => t.name));
    for (const p of packed) assert.equal(p.report.manifestTarget, p.target);
  });

  for (const t of TARGETS) {
    it(`${t.name}: exactly its own native binaries, nothing from the exclusion list, within ${VSIX_BUDGET_BYTES / 1024 / 1024} MB plus the llama.cpp source`, () => {
      const { report } = packed.find((p) => p.target === t.name)!;
      process.stderr.write(`      ${t.name}: ${(report.bytes / 1024 / 1024).toFixed(1)} MB (${(report.sourceBundleBytes / 1024 / 1024).toFixed(1)} MB of it the llama.cpp source), ${report.files} files\n`);
      assert.deepEqual(report.problems, []);
      assert.deepEqual(report.platformPackages, [t.llamaPackage, ...(t.yaraPackage ? [t.yaraPackage] : [])].sort());
      assert.deepEqual(report.ortDirs, t.ortDir ? [t.ortDir] : []);
      // `sovereign engine build` compiles the llama.cpp source the VSIX carries (offline): it is there, whole.
      assert.ok(report.paths.includes(LLAMA_SOURCE_BUNDLE), `${LLAMA_SOURCE_BUNDLE} is missing`);
      assert.ok(report.sourceBundleBytes > 30 * 1024 * 1024, `the source bundle is ${report.sourceBundleBytes} bytes packed`);
      assert.ok(report.bytes - report.sourceBundleBytes <= VSIX_BUDGET_BYTES);
      // The runtime is there: the bundles, the CLI launcher, the engines' JavaScript.
      for (const p of ['dist/extension.js', 'dist/extension-main.js', 'dist/cli.js', 'dist/engine-host.js', 'bin/sovereign.js', 'rules/default/executables.yar', 'node_modules/node-llama-cpp/package.json', 'node_modules/onnxruntime-node/package.json']) {
        assert.ok(report.paths.includes(p), `${p} is missing`);
      }
      assert.ok(!report.paths.some((p) => /\.(map|d\.ts)$/.test(p) || p.startsWith('src/') || p.startsWith('test/')), 'sources, maps or tests are packed');
    });
  }

  it('ships the manifest without development parts, with every runtime dependency declared', async () => {
    const { report, file } = packed.find((p) => p.target === 'linux-x64')!;
    assert.ok(report.paths.includes('package.json'));
    const source = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { contributes: unknown; version: string };
    const shipped = (await inspectVsixManifest(file)) as { scripts?: unknown; devDependencies?: unknown; contributes: unknown; version: string; dependencies: Record<string, string>; extensionKind: string[] };
    assert.equal(shipped.scripts, undefined);
    assert.equal(shipped.devDependencies, undefined);
    assert.deepEqual(shipped.contributes, source.contributes);
    assert.equal(shipped.version, source.version);
    assert.deepEqual(shipped.extensionKind, ['workspace']);
    assert.deepEqual(Object.keys(shipped.dependencies).sort(), ['@litko/yara-x', '@litko/yara-x-linux-x64-gnu', '@node-llama-cpp/linux-x64', 'dockerode', 'node-llama-cpp', 'onnxruntime-node', 'xz-decompress']);
  });

  it("the inspection fails a VSIX built for another platform (it is not a rubber stamp)", async () => {
    const linux = packed.find((p) => p.target === 'linux-x64')!;
    const judged = await inspectVsix(linux.file, target('darwin-arm64'));
    assert.ok(judged.problems.some((p) => p.includes('targets linux-x64, not darwin-arm64')), judged.problems.join('\n'));
    assert.ok(judged.problems.some((p) => p.includes("another platform's package: @node-llama-cpp/linux-x64")), judged.problems.join('\n'));
    assert.ok(judged.problems.some((p) => p.includes("another platform's ONNX Runtime binary")), judged.problems.join('\n'));
    assert.ok(judged.problems.some((p) => p.includes('@node-llama-cpp/mac-arm64-metal is missing')), judged.problems.join('\n'));
    const tooSmall = await inspectVsix(linux.file, target('linux-x64'), 1024 * 1024);
    assert.ok(tooSmall.problems.some((p) => /over the budget of 1 MB/.test(p)), tooSmall.problems.join('\n'));
  });
});

describe('what a VSIX leaves out', () => {
  it('names the reason for every excluded kind of file and keeps what runs', () => {
    const out: Array<[string, boolean]> = [
      ['node_modules/node-llama-cpp/dist/index.js', false],
      ['node_modules/node-llama-cpp/dist/index.d.ts', true],
      ['node_modules/node-llama-cpp/dist/index.js.map', true],
      ['node_modules/node-llama-cpp/llama/gitRelease.bundle', false],
      ['node_modules/node-llama-cpp/llama/toolchains/linux.host-x64.target-arm64.cmake', true],
      ['node_modules/node-llama-cpp/llama/xpack/package.json', true],
      ['node_modules/node-llama-cpp/llama/addon/addon.cpp', true],
      ['node_modules/node-llama-cpp/llama/binariesGithubRelease.json', false],
      ['node_modules/ssh2/README.md', true],
      ['node_modules/ssh2/LICENSE', false],
      ['node_modules/tar/test/index.js', true],
      ['node_modules/onnxruntime-node/script/install.js', true],
      ['node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so', true],
      ['node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1', false],
      ['dist/extension.js', false],
      ['dist/extension.js.map', true],
      ['media/screenshots/models.png', true],
      ['media/icon.png', false],
      ['README.md', false],
    ];
    for (const [path, excluded] of out) assert.equal(exclusionOf(path) !== undefined, excluded, path);
    assert.equal(isForeignOrtBinary('node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime.dll', 'linux/x64'), true);
    assert.equal(isForeignOrtBinary('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'linux/x64'), false);
    assert.equal(isForeignOrtBinary('node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64/libonnxruntime.dylib', undefined), true);
  });

  it('keeps every package esbuild leaves external among the runtime packages', async () => {
    const esbuild = await readFile(join(REPO_ROOT, 'esbuild.mjs'), 'utf8');
    const externals = [...(/const external = \[([\s\S]*?)\];/.exec(esbuild)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!);
    const shipped = new Set<string>([...RUNTIME_ROOTS, YARA_ROOT, 'vscode']);
    const missing = externals.filter((e) => !shipped.has(e) && !/\/\*$/.test(e));
    assert.deepEqual(missing, [], 'external in esbuild.mjs but not shipped in node_modules');
  });
});
