/**
 * The platforms the extension ships for, and what each VSIX carries of the native runtime. One table, read by
 * the packager (scripts/package/package.ts), the VSIX inspection test (test/package/vsix.test.ts) and the
 * size benchmark (bench/vsix-bench.ts): what a target must hold and what it must not are written once.
 */

export type TargetName = 'linux-x64' | 'linux-arm64' | 'darwin-arm64' | 'darwin-x64' | 'win32-x64';

export interface Target {
  /** `vsce package --target` value (VS Code's platform-specific extension targets). */
  name: TargetName;
  /** node-llama-cpp's prebuilt CPU (or Metal) package for this platform. */
  llamaPackage: string;
  /**
   * onnxruntime-node's binary folder for this platform, below `bin/napi-v*` (os/arch). Undefined: upstream ships
   * none (onnxruntime-node 1.30 dropped Intel macOS), so the ONNX engine reports itself unavailable there.
   */
  ortDir?: string;
  /**
   * The yara-x rule engine's binary package. Undefined where none is published (@litko/yara-x 0.3.0 declares
   * darwin packages that the registry does not serve, and ships no Windows or Linux arm64 build).
   */
  yaraPackage?: string;
}

export const TARGETS: readonly Target[] = [
  { name: 'linux-x64', llamaPackage: '@node-llama-cpp/linux-x64', ortDir: 'linux/x64', yaraPackage: '@litko/yara-x-linux-x64-gnu' },
  { name: 'linux-arm64', llamaPackage: '@node-llama-cpp/linux-arm64', ortDir: 'linux/arm64' },
  { name: 'darwin-arm64', llamaPackage: '@node-llama-cpp/mac-arm64-metal', ortDir: 'darwin/arm64' },
  { name: 'darwin-x64', llamaPackage: '@node-llama-cpp/mac-x64' },
  { name: 'win32-x64', llamaPackage: '@node-llama-cpp/win-x64', ortDir: 'win32/x64' },
];

export function target(name: string): Target {
  const found = TARGETS.find((t) => t.name === name);
  if (!found) throw new Error(`unknown target "${name}"; one of ${TARGETS.map((t) => t.name).join(', ')}`);
  return found;
}

/**
 * Size budget of a VSIX in bytes (issue 14: linux-x64 <= 60 MB; the others are held to the same bound), not
 * counting the llama.cpp source bundle below, which every VSIX carries on top of it.
 */
export const VSIX_BUDGET_BYTES = 60 * 1024 * 1024;

/**
 * llama.cpp's source as node-llama-cpp ships it (a git bundle, ~35 MB, already compressed): `sovereign engine build`
 * / "Build llama.cpp for This Machine" compiles it offline (src/core/engines/native/build.ts), so every VSIX
 * carries it. It is counted apart from the runtime's budget: a VSIX is VSIX_BUDGET_BYTES + this file at most.
 */
export const LLAMA_SOURCE_BUNDLE = 'node_modules/node-llama-cpp/llama/gitRelease.bundle';

/**
 * Packages esbuild leaves external (esbuild.mjs) that the extension, the CLI or the engine child load at run
 * time. The VSIX carries them with their production dependency closure; everything else is bundled in dist/.
 * `@litko/yara-x` travels only where its binary exists.
 */
export const RUNTIME_ROOTS = ['node-llama-cpp', 'onnxruntime-node', 'dockerode', 'xz-decompress'] as const;
export const YARA_ROOT = '@litko/yara-x';

/** Every platform-binary package family; a VSIX holds exactly its own target's member of each. */
export const PLATFORM_PACKAGE = /^(@node-llama-cpp\/[^/]+|@litko\/yara-x-[^/]+)$/;

/**
 * Paths (relative to the staging root, forward slashes) a user never runs: tests, docs, sources, maps,
 * type declarations, READMEs and changelogs of dependencies, build inputs (node-llama-cpp's own, not the llama.cpp
 * source bundle: LLAMA_SOURCE_BUNDLE ships), onnxruntime-node's install script and GPU provider libraries. Licence files stay.
 */
export const EXCLUDED: ReadonlyArray<{ why: string; pattern: RegExp }> = [
  { why: 'source map', pattern: /\.map$/ },
  { why: 'type declaration', pattern: /\.d\.[cm]?ts$/ },
  { why: 'TypeScript source', pattern: /(^|\/)[^/]+\.[cm]?ts$/ },
  { why: 'C/C++ source or build file', pattern: /(\.(c|cc|cpp|cxx|h|hpp|gyp|gypi|cmake)|(^|\/)CMakeLists\.txt)$/ },
  { why: 'documentation of a dependency', pattern: /^node_modules\/.*\.(md|markdown)$/i },
  { why: 'test, example, doc or benchmark folder of a dependency', pattern: /^node_modules\/(.*\/)?(test|tests|__tests__|spec|example|examples|docs?|benchmarks?|coverage|\.github)\// },
  { why: 'npm binary link', pattern: /(^|\/)\.bin\// },
  { why: 'npm lock metadata', pattern: /(^|\/)\.package-lock\.json$/ },
  { why: "node-llama-cpp's own build inputs (its addon is prebuilt)", pattern: /^node_modules\/node-llama-cpp\/llama\/(cmake|toolchains|xpack|patches|addon|profiles)\// },
  { why: 'onnxruntime-node install script (downloads CUDA)', pattern: /^node_modules\/onnxruntime-node\/script\// },
  { why: 'GPU execution provider library', pattern: /(providers_(cuda|tensorrt|rocm|migraphx|openvino)|libcudnn|libcublas|nvinfer)/i },
  { why: 'a packed extension or signature', pattern: /\.(vsix|p7s)$/ },
  { why: 'marketplace page asset (README screenshots, icon source)', pattern: /^media\/(screenshots\/|icon\.svg$)/ },
];

/** The reason a staged path is left out, or undefined when it ships. */
export function exclusionOf(rel: string): string | undefined {
  return EXCLUDED.find((e) => e.pattern.test(rel))?.why;
}

/**
 * onnxruntime-node binary folders of other platforms (relative path below the package). `own` is the
 * target's `ortDir`.
 */
export function isForeignOrtBinary(rel: string, own: string | undefined): boolean {
  const m = /^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+\/[^/]+)\//.exec(rel);
  return m !== null && m[1] !== own;
}
