/**
 * GPU acceleration for GGUF models: what the machine has (an NVIDIA GPU, a Vulkan-capable GPU, Apple Metal),
 * which llama.cpp builds of node-llama-cpp are installed, and what exactly to install to use the GPU.
 *
 * The engine itself never builds or downloads anything (`getLlamaSafely`: `gpu: 'auto'`, `build: 'never'`,
 * `skipDownload`): it takes the best prebuilt binary present (CUDA, then Vulkan, then the CPU build that always
 * works) and reports which backend it loaded and how many layers it offloaded (`ModelDescription.gpu`,
 * `gpuLayers`, `totalLayers`). This module only looks and advises; nothing here loads a native module.
 *
 * Detection is parameterised (the /dev folder, PATH, the platform, the node_modules to look in, how a tool is
 * run) so tests can point it at fake device and PATH trees on a machine without a GPU.
 */
import { execFile } from 'node:child_process';
import { constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';

export type GpuBackend = 'cuda' | 'vulkan' | 'metal';

/** Runs a tool found on PATH: its stdout, or undefined when it fails (missing, non-zero exit, timeout). */
export type ToolRunner = (file: string, args: string[]) => Promise<string | undefined>;

export interface GpuProbeOptions {
  platform?: NodeJS.Platform;
  arch?: string;
  /** Default /dev. */
  devDir?: string;
  /** Default process.env.PATH. */
  pathEnv?: string;
  /** Default: execFile with a 5 s timeout. */
  run?: ToolRunner;
  /** A folder from which node_modules is searched upward (default: this module's folder). */
  modulesFrom?: string;
}

export interface GpuEvidence {
  found: boolean;
  /** What showed it: device files, tools on PATH. */
  evidence: string[];
  /** Device names, when a tool reported them. */
  names: string[];
}

export interface GpuDetection {
  platform: NodeJS.Platform;
  arch: string;
  nvidia: GpuEvidence;
  vulkan: GpuEvidence;
  metal: GpuEvidence;
  /** node-llama-cpp's version (the prebuilt packages must match it exactly), when installed. */
  nodeLlamaCpp?: string;
  /** The folder that holds the node_modules node-llama-cpp is in (where packages must be installed). */
  installDir?: string;
  /** The `@node-llama-cpp/*` prebuilt packages installed there. */
  installed: string[];
}

export interface GpuAdvice {
  /** The backend this machine can use: a GPU one, or 'cpu'. */
  backend: GpuBackend | 'cpu';
  /**
   * ready: the GPU build is installed (the engine uses it); install: install `packages`; no-gpu: no GPU found,
   * the CPU build runs; unsupported: a GPU, but no prebuilt GPU build of llama.cpp for this platform.
   */
  status: 'ready' | 'install' | 'no-gpu' | 'unsupported';
  /** The prebuilt packages for that backend on this platform (name@version), required first. */
  packages: string[];
  /** The ones missing. */
  missing: string[];
  /** The command that installs the missing ones (offline machines: from a local registry mirror). */
  command?: string;
  summary: string;
  /** What else is needed (a driver, a loader), in order. */
  notes: string[];
}

/** The version of node-llama-cpp this project pins (package.json); its prebuilt packages carry the same. */
export const PINNED_NODE_LLAMA_CPP = '3.21.1';

/** Prebuilt llama.cpp packages of node-llama-cpp 3.21.1 per platform and backend (its optionalDependencies). */
export function prebuiltPackages(platform: NodeJS.Platform, arch: string, backend: GpuBackend | 'cpu'): string[] | undefined {
  const os = platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : platform === 'linux' ? 'linux' : undefined;
  if (!os) return undefined;
  const key = `${os}-${arch}`;
  if (backend === 'cpu') {
    const cpu: Record<string, string> = { 'linux-x64': 'linux-x64', 'linux-arm64': 'linux-arm64', 'linux-arm': 'linux-armv7l', 'linux-riscv64': 'linux-riscv64', 'mac-x64': 'mac-x64', 'mac-arm64': 'mac-arm64-metal', 'win-x64': 'win-x64', 'win-arm64': 'win-arm64' };
    return cpu[key] ? [`@node-llama-cpp/${cpu[key]}`] : undefined;
  }
  if (backend === 'metal') return key === 'mac-arm64' ? ['@node-llama-cpp/mac-arm64-metal'] : undefined;
  if (key !== 'linux-x64' && key !== 'win-x64') return undefined;
  // The CUDA build comes in two parts: the binaries, and -ext with the larger CUDA libraries (node-llama-cpp loads it when present).
  return backend === 'cuda' ? [`@node-llama-cpp/${key}-cuda`, `@node-llama-cpp/${key}-cuda-ext`] : [`@node-llama-cpp/${key}-vulkan`];
}

const defaultRun: ToolRunner = (file, args) =>
  new Promise((done) => execFile(file, args, { timeout: 5000, windowsHide: true }, (err, stdout) => done(err ? undefined : String(stdout))));

/** An executable named `name` on PATH (with Windows' extensions), or undefined. */
export async function findOnPath(name: string, pathEnv: string | undefined, platform: NodeJS.Platform = process.platform): Promise<string | undefined> {
  const exts = platform === 'win32' ? ['.exe', '.cmd', '.bat', ''] : [''];
  for (const dir of (pathEnv ?? '').split(platform === 'win32' ? ';' : delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const file = join(dir, name + ext);
      try {
        await access(file, platform === 'win32' ? constants.F_OK : constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** NVIDIA GPUs as `nvidia-smi` lists them (name, total and free memory in bytes); none when it is missing or fails. */
export async function queryNvidiaSmi(run: ToolRunner = defaultRun, file = 'nvidia-smi'): Promise<{ name: string; memoryTotalBytes: number; memoryFreeBytes: number }[]> {
  const out = await run(file, ['--query-gpu=name,memory.total,memory.free', '--format=csv,noheader,nounits']);
  if (!out) return [];
  return out
    .trim()
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [name, total, free] = line.split(',').map((s) => s.trim());
      return { name, memoryTotalBytes: Number(total) * 1024 * 1024, memoryFreeBytes: Number(free) * 1024 * 1024 };
    });
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The node_modules that holds node-llama-cpp, searched upward from `from`. */
function findModules(from: string): { dir: string; version?: string } | undefined {
  for (let at = from; ; at = dirname(at)) {
    const pkg = join(at, 'node_modules', 'node-llama-cpp', 'package.json');
    if (existsSync(pkg)) {
      let version: string | undefined;
      try {
        version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version;
      } catch {
        // unreadable: version unknown
      }
      return { dir: at, version };
    }
    if (dirname(at) === at) return undefined;
  }
}

/** What GPU this machine has and which llama.cpp builds are installed. Reads files and runs nvidia-smi/vulkaninfo; loads nothing. */
export async function detectGpu(options: GpuProbeOptions = {}): Promise<GpuDetection> {
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const devDir = options.devDir ?? '/dev';
  const pathEnv = options.pathEnv ?? process.env.PATH;
  const run = options.run ?? defaultRun;

  const nvidia: GpuEvidence = { found: false, evidence: [], names: [] };
  const nvidiaDevices = platform === 'linux' ? listDir(devDir).filter((f) => /^nvidia\d+$/.test(f)).sort() : [];
  if (nvidiaDevices.length) nvidia.evidence.push(...nvidiaDevices.map((f) => join(devDir, f)));
  const smi = await findOnPath('nvidia-smi', pathEnv, platform);
  if (smi) {
    nvidia.evidence.push(smi);
    nvidia.names.push(...(await queryNvidiaSmi(run, smi)).map((g) => g.name));
  }
  nvidia.found = nvidiaDevices.length > 0 || nvidia.names.length > 0;

  const vulkan: GpuEvidence = { found: false, evidence: [], names: [] };
  const renderNodes = platform === 'linux' ? listDir(join(devDir, 'dri')).filter((f) => /^renderD\d+$/.test(f)).sort() : [];
  if (renderNodes.length) vulkan.evidence.push(...renderNodes.map((f) => join(devDir, 'dri', f)));
  const vulkaninfo = await findOnPath('vulkaninfo', pathEnv, platform);
  if (vulkaninfo) {
    vulkan.evidence.push(vulkaninfo);
    const summary = await run(vulkaninfo, ['--summary']);
    // Software rasterisers (llvmpipe, SwiftShader) are Vulkan devices too, but no acceleration.
    for (const m of (summary ?? '').matchAll(/deviceName\s*=\s*(.+)/g)) if (!/llvmpipe|swiftshader|lavapipe/i.test(m[1])) vulkan.names.push(m[1].trim());
  }
  vulkan.found = renderNodes.length > 0 || vulkan.names.length > 0 || nvidia.found;

  const metal: GpuEvidence = { found: platform === 'darwin' && arch === 'arm64', evidence: platform === 'darwin' && arch === 'arm64' ? ['Apple silicon (darwin-arm64)'] : [], names: [] };

  const modules = findModules(options.modulesFrom ?? __dirname);
  const installed = modules
    ? [...new Set([...listDir(join(modules.dir, 'node_modules', '@node-llama-cpp')), ...listDir(join(modules.dir, 'node_modules', 'node-llama-cpp', 'node_modules', '@node-llama-cpp'))])]
        .sort()
        .map((n) => `@node-llama-cpp/${n}`)
    : [];
  return { platform, arch, nvidia, vulkan, metal, nodeLlamaCpp: modules?.version, installDir: modules?.dir, installed };
}

/** What to install to run GGUF models on this machine's GPU (node-llama-cpp's prebuilt packages, exact version). */
export function gpuAdvice(d: GpuDetection): GpuAdvice {
  const version = d.nodeLlamaCpp ?? PINNED_NODE_LLAMA_CPP;
  const backend: GpuBackend | 'cpu' = d.metal.found ? 'metal' : d.nvidia.found ? 'cuda' : d.vulkan.found ? 'vulkan' : 'cpu';
  const cpuPackages = prebuiltPackages(d.platform, d.arch, 'cpu') ?? [];
  if (backend === 'cpu') {
    return {
      backend,
      status: 'no-gpu',
      packages: cpuPackages.map((p) => `${p}@${version}`),
      missing: cpuPackages.filter((p) => !d.installed.includes(p)).map((p) => `${p}@${version}`),
      summary: `No GPU found (no /dev/nvidia*, no nvidia-smi, no Vulkan device${d.platform === 'darwin' ? ', not Apple silicon' : ''}): models run on the CPU build of llama.cpp, which always works. Nothing to install.`,
      notes: ['If this machine has a GPU, install its driver first (NVIDIA: the driver that provides nvidia-smi; AMD/Intel: the Vulkan driver and loader), then run "Sovereign: Set Up GPU Acceleration" again.'],
    };
  }
  const packages = prebuiltPackages(d.platform, d.arch, backend);
  const label = backend === 'cuda' ? `NVIDIA GPU${d.nvidia.names.length ? ` (${d.nvidia.names.join(', ')})` : ''}` : backend === 'vulkan' ? `Vulkan-capable GPU${d.vulkan.names.length ? ` (${d.vulkan.names.join(', ')})` : ''}` : 'Apple silicon GPU (Metal)';
  if (!packages) {
    return {
      backend: 'cpu',
      status: 'unsupported',
      packages: [],
      missing: [],
      summary: `${label} found, but node-llama-cpp ${version} has no prebuilt ${backend} build for ${d.platform}-${d.arch}: models run on the CPU build. Sovereign never compiles llama.cpp at run time.`,
      notes: ['GPU builds are prebuilt for linux-x64 and win32-x64 (CUDA, Vulkan) and darwin-arm64 (Metal).'],
    };
  }
  const required = backend === 'cuda' ? packages.slice(0, 1) : packages;
  const missing = packages.filter((p) => !d.installed.includes(p));
  const ready = required.every((p) => d.installed.includes(p));
  const withVersion = (list: string[]): string[] => list.map((p) => `${p}@${version}`);
  const notes: string[] = [];
  if (backend === 'cuda') {
    notes.push('The NVIDIA driver must be installed and working (nvidia-smi lists the GPU).');
    notes.push(`${packages[1]} carries the larger CUDA libraries; node-llama-cpp uses it when it is installed beside ${packages[0]}.`);
    const vulkan = prebuiltPackages(d.platform, d.arch, 'vulkan');
    if (vulkan) notes.push(`Alternative: the Vulkan build (${withVersion(vulkan).join(' ')}), smaller, usually slower than CUDA on NVIDIA GPUs.`);
  }
  if (backend === 'vulkan') notes.push(d.platform === 'linux' ? 'The Vulkan loader and your GPU\'s Vulkan driver must be installed (Debian/Ubuntu: libvulkan1 and mesa-vulkan-drivers, or the vendor driver); `vulkaninfo --summary` lists the GPU when they are.' : 'Your GPU vendor\'s driver provides Vulkan; `vulkaninfo --summary` lists the GPU when it does.');
  if (backend === 'metal') notes.push('Metal is part of macOS: the darwin-arm64 build of llama.cpp uses it by default.');
  notes.push('After installing, reload the window (or restart `sovereign serve`): the next model load uses the GPU build, and the Local Engines view shows the backend and the layers offloaded.');
  return {
    backend,
    status: ready ? 'ready' : 'install',
    packages: withVersion(packages),
    missing: withVersion(missing),
    command: missing.length ? `npm install --no-save --ignore-scripts --omit=dev ${withVersion(missing).join(' ')}` : undefined,
    summary: ready
      ? `${label} found and the ${backend} build of llama.cpp is installed (${withVersion(required).join(', ')}): GGUF models load on the GPU, layers offloaded as VRAM allows.`
      : `${label} found. Install the ${backend} build of llama.cpp for node-llama-cpp ${version} (${withVersion(missing).join(', ')}) to run GGUF models on it; until then they run on the CPU.`,
    notes,
  };
}

/** The advice as a Markdown page (the "Set Up GPU Acceleration" document; `sovereign` prints the same). */
export function renderGpuAdvice(d: GpuDetection, a: GpuAdvice): string {
  const evidence = (e: GpuEvidence): string => (e.found ? `found (${[...e.names, ...e.evidence].join(', ') || 'yes'})` : e.evidence.length ? `not usable (${e.evidence.join(', ')})` : 'not found');
  const lines = [
    '# GPU acceleration for local models',
    '',
    `**${a.status === 'ready' ? 'Ready' : a.status === 'install' ? 'Action needed' : a.status === 'unsupported' ? 'CPU only on this platform' : 'No GPU: CPU'}** — ${a.summary}`,
    '',
    '## What this machine has',
    '',
    `- platform: \`${d.platform}-${d.arch}\`, node-llama-cpp ${d.nodeLlamaCpp ?? `not installed (Sovereign pins ${PINNED_NODE_LLAMA_CPP})`}`,
    `- NVIDIA (CUDA): ${evidence(d.nvidia)}`,
    `- Vulkan: ${evidence(d.vulkan)}`,
    `- Apple Metal: ${d.metal.found ? 'yes (Apple silicon)' : 'no'}`,
    `- llama.cpp builds installed: ${d.installed.length ? d.installed.map((p) => `\`${p}\``).join(', ') : 'none'}${d.installDir ? ` (in \`${join(d.installDir, 'node_modules')}\`)` : ''}`,
    '',
  ];
  if (a.missing.length && a.status === 'install') {
    lines.push('## Install', '', `In \`${d.installDir ?? 'the folder that holds node_modules (the extension folder, or your checkout)'}\`:`, '', '```sh', a.command ?? '', '```', '');
    lines.push(`The versions must be exactly node-llama-cpp's (${d.nodeLlamaCpp ?? PINNED_NODE_LLAMA_CPP}). Nothing is downloaded or compiled at run time: the engine only uses the builds installed here.`, '');
  }
  if (a.notes.length) lines.push('## Notes', '', ...a.notes.map((n) => `- ${n}`), '');
  lines.push('The CPU build stays the default and always works: when no GPU build loads, models run on the CPU.', '');
  return lines.join('\n');
}

/** Where a loaded GGUF model runs, in words: `backend cpu, 0 layers offloaded` or `backend cuda, 33/33 layers offloaded`. */
export function describeBackend(b: { gpu?: string | false; gpuLayers?: number; totalLayers?: number }): string {
  return `backend ${b.gpu || 'cpu'}, ${b.gpu ? (b.gpuLayers ?? 0) : 0}${b.totalLayers ? `/${b.totalLayers}` : ''} layers offloaded`;
}
