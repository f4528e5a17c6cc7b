import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeBackend, detectGpu, gpuAdvice, prebuiltPackages, renderGpuAdvice, type GpuDetection } from '../../../src/core/engines/gpu';
import { tempDir } from '../../helpers/tmp';

/** The repository root, from the source (test/core/engines) or the compiled tests (out/test/core/engines). */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'node_modules', 'node-llama-cpp', 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
const REPO = repoRoot();

/**
 * GPU detection and advice. Detection reads a /dev folder and PATH given as parameters: the fake trees below
 * stand for machines with a GPU (this machine has none). The advice is checked against node-llama-cpp's own list
 * of prebuilt packages (its optionalDependencies), not against a copy.
 */
describe('GPU acceleration: detection and what to install', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let llamaVersion: string;
  let llamaPackages: string[];

  before(async () => {
    tmp = await tempDir('sovereign-gpu-');
    const pkg = JSON.parse(await readFile(join(REPO, 'node_modules', 'node-llama-cpp', 'package.json'), 'utf8')) as { version: string; optionalDependencies: Record<string, string> };
    llamaVersion = pkg.version;
    llamaPackages = Object.keys(pkg.optionalDependencies);
  });
  after(() => tmp.cleanup());

  /** A machine tree: dev files, executables on a PATH folder (shell scripts), node_modules with these packages. */
  async function machine(name: string, tree: { dev?: string[]; tools?: Record<string, string>; packages?: string[] }): Promise<{ devDir: string; pathEnv: string; modulesFrom: string }> {
    const root = join(tmp.path, name);
    const devDir = join(root, 'dev');
    const bin = join(root, 'bin');
    await mkdir(devDir, { recursive: true });
    await mkdir(bin, { recursive: true });
    for (const f of tree.dev ?? []) {
      await mkdir(join(devDir, f, '..'), { recursive: true });
      await writeFile(join(devDir, f), '');
    }
    for (const [tool, output] of Object.entries(tree.tools ?? {})) {
      await writeFile(join(bin, tool), `#!/bin/sh\ncat <<'OUT'\n${output}\nOUT\n`);
      await chmod(join(bin, tool), 0o755);
    }
    const modules = join(root, 'app', 'node_modules');
    await mkdir(join(modules, 'node-llama-cpp'), { recursive: true });
    await writeFile(join(modules, 'node-llama-cpp', 'package.json'), JSON.stringify({ name: 'node-llama-cpp', version: llamaVersion }));
    for (const p of tree.packages ?? []) await mkdir(join(modules, p), { recursive: true });
    return { devDir, pathEnv: bin, modulesFrom: join(root, 'app', 'dist') };
  }

  it('names only packages node-llama-cpp really has, at its exact version', () => {
    const combos: [NodeJS.Platform, string][] = [['linux', 'x64'], ['linux', 'arm64'], ['win32', 'x64'], ['win32', 'arm64'], ['darwin', 'arm64'], ['darwin', 'x64']];
    for (const [platform, arch] of combos) {
      for (const backend of ['cpu', 'cuda', 'vulkan', 'metal'] as const) {
        for (const p of prebuiltPackages(platform, arch, backend) ?? []) assert.ok(llamaPackages.includes(p), `${p} (${platform}-${arch} ${backend}) is one of node-llama-cpp's packages`);
      }
    }
    assert.deepEqual(prebuiltPackages('linux', 'x64', 'cpu'), ['@node-llama-cpp/linux-x64']);
    assert.equal(prebuiltPackages('linux', 'arm64', 'cuda'), undefined);
    assert.equal(prebuiltPackages('darwin', 'x64', 'metal'), undefined);
  });

  it('an NVIDIA GPU on linux-x64 (/dev/nvidia0, nvidia-smi): install the CUDA build, with the exact command', async () => {
    const m = await machine('nvidia', { dev: ['nvidia0', 'nvidiactl'], tools: { 'nvidia-smi': 'NVIDIA H200, 143771, 143000' }, packages: ['@node-llama-cpp/linux-x64'] });
    const d = await detectGpu({ platform: 'linux', arch: 'x64', ...m });
    assert.equal(d.nvidia.found, true);
    assert.deepEqual(d.nvidia.names, ['NVIDIA H200']);
    assert.deepEqual(d.nvidia.evidence, [join(m.devDir, 'nvidia0'), join(m.pathEnv, 'nvidia-smi')]);
    assert.deepEqual(d.installed, ['@node-llama-cpp/linux-x64']);
    assert.equal(d.nodeLlamaCpp, llamaVersion);
    const a = gpuAdvice(d);
    assert.equal(a.backend, 'cuda');
    assert.equal(a.status, 'install');
    assert.deepEqual(a.missing, [`@node-llama-cpp/linux-x64-cuda@${llamaVersion}`, `@node-llama-cpp/linux-x64-cuda-ext@${llamaVersion}`]);
    assert.equal(a.command, `npm install --no-save --ignore-scripts --omit=dev ${a.missing.join(' ')}`);
    assert.match(a.summary, /NVIDIA GPU \(NVIDIA H200\) found/);
    const page = renderGpuAdvice(d, a);
    assert.ok(page.includes(a.command!), 'the page shows the command');
    assert.ok(page.includes(join(d.installDir!, 'node_modules')), 'and where the packages go');
  });

  it('the CUDA build installed: ready (the -ext package is not required)', async () => {
    const m = await machine('nvidia-ready', { dev: ['nvidia0'], packages: ['@node-llama-cpp/linux-x64', '@node-llama-cpp/linux-x64-cuda'] });
    const a = gpuAdvice(await detectGpu({ platform: 'linux', arch: 'x64', ...m }));
    assert.equal(a.status, 'ready');
    assert.deepEqual(a.missing, [`@node-llama-cpp/linux-x64-cuda-ext@${llamaVersion}`]);
  });

  it('a Vulkan GPU (/dev/dri/renderD128, vulkaninfo): the Vulkan build; software rasterisers do not count', async () => {
    const m = await machine('vulkan', {
      dev: ['dri/renderD128'],
      tools: { vulkaninfo: 'GPU0:\n\tdeviceName         = AMD Radeon RX 7900 XTX (RADV NAVI31)\nGPU1:\n\tdeviceName         = llvmpipe (LLVM 15.0.6, 256 bits)' },
    });
    const d = await detectGpu({ platform: 'linux', arch: 'x64', ...m });
    assert.equal(d.nvidia.found, false);
    assert.deepEqual(d.vulkan.names, ['AMD Radeon RX 7900 XTX (RADV NAVI31)']);
    const a = gpuAdvice(d);
    assert.equal(a.backend, 'vulkan');
    assert.deepEqual(a.packages, [`@node-llama-cpp/linux-x64-vulkan@${llamaVersion}`]);
    assert.ok(a.notes.some((n) => n.includes('libvulkan1')), 'says the loader is needed');
  });

  it('windows x64 with NVIDIA: the win-x64 CUDA packages', async () => {
    const m = await machine('win', { tools: { 'nvidia-smi': 'NVIDIA GeForce RTX 4090, 24564, 20000' } });
    const d = await detectGpu({ platform: 'win32', arch: 'x64', ...m, pathEnv: m.pathEnv });
    // On this (Linux) machine the fake tool has no .exe suffix: Windows also tries the bare name.
    assert.deepEqual(d.nvidia.names, ['NVIDIA GeForce RTX 4090']);
    assert.deepEqual(gpuAdvice(d).packages, [`@node-llama-cpp/win-x64-cuda@${llamaVersion}`, `@node-llama-cpp/win-x64-cuda-ext@${llamaVersion}`]);
  });

  it('Apple silicon: Metal, ready with the darwin-arm64 build; Intel macs and linux-arm64 GPUs: CPU only', async () => {
    const mac = await machine('mac', { packages: ['@node-llama-cpp/mac-arm64-metal'] });
    const a = gpuAdvice(await detectGpu({ platform: 'darwin', arch: 'arm64', ...mac }));
    assert.deepEqual([a.backend, a.status], ['metal', 'ready']);
    const arm = await machine('arm', { dev: ['nvidia0'] });
    const b = gpuAdvice(await detectGpu({ platform: 'linux', arch: 'arm64', ...arm }));
    assert.deepEqual([b.backend, b.status, b.packages], ['cpu', 'unsupported', []]);
    assert.match(b.summary, /no prebuilt cuda build for linux-arm64/);
  });

  it('no GPU: the CPU build runs and nothing is to be installed', async () => {
    const m = await machine('none', { packages: ['@node-llama-cpp/linux-x64'] });
    const d = await detectGpu({ platform: 'linux', arch: 'x64', ...m });
    assert.deepEqual([d.nvidia.found, d.vulkan.found, d.metal.found], [false, false, false]);
    const a = gpuAdvice(d);
    assert.deepEqual([a.backend, a.status, a.missing, a.command], ['cpu', 'no-gpu', [], undefined]);
    assert.match(renderGpuAdvice(d, a), /\*\*No GPU: CPU\*\*/);
  });

  it('this machine: the llama.cpp builds installed beside this checkout, at node-llama-cpp\'s version', async () => {
    const d: GpuDetection = await detectGpu({ modulesFrom: REPO });
    assert.equal(d.nodeLlamaCpp, llamaVersion);
    assert.equal(d.installDir, REPO);
    assert.ok(d.installed.includes(prebuiltPackages(process.platform, process.arch, 'cpu')![0]), `the CPU build is installed: ${d.installed.join(', ')}`);
    assert.ok(d.installed.every((p) => llamaPackages.includes(p)));
  });

  it('describes where a model runs', () => {
    assert.equal(describeBackend({ gpu: false, gpuLayers: 0, totalLayers: 3 }), 'backend cpu, 0/3 layers offloaded');
    assert.equal(describeBackend({ gpu: 'cuda', gpuLayers: 33, totalLayers: 33 }), 'backend cuda, 33/33 layers offloaded');
  });
});
