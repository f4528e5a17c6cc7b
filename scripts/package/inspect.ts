/**
 * Reads a VSIX (a zip) with the project's own zip reader and judges it against its target: it holds exactly its
 * own platform's native binaries (node-llama-cpp, ONNX Runtime, yara-x where published), nothing from the
 * exclusion list, the target in its manifest, and stays within the size budget.
 */
import { stat } from 'node:fs/promises';
import { readZipDirectory } from '../../src/core/formats/zip/directory';
import { openMember } from '../../src/core/formats/zip/member';
import { FileSource } from '../../src/core/formats/source';
import { exclusionOf, isForeignOrtBinary, LLAMA_SOURCE_BUNDLE, PLATFORM_PACKAGE, VSIX_BUDGET_BYTES, type Target } from './targets';

export interface VsixReport {
  /** Size of the .vsix file. */
  bytes: number;
  /** Packed size of the llama.cpp source bundle (LLAMA_SOURCE_BUNDLE), which the budget does not count; 0 when absent. */
  sourceBundleBytes: number;
  /** Members under extension/ (what is installed). */
  files: number;
  uncompressedBytes: number;
  /** Paths below extension/. */
  paths: string[];
  /** Platform packages found in node_modules (@node-llama-cpp/*, @litko/yara-x-*). */
  platformPackages: string[];
  /** onnxruntime-node binary folders found (os/arch). */
  ortDirs: string[];
  /** `TargetPlatform` of extension.vsixmanifest. */
  manifestTarget?: string;
  /** Everything wrong with the package for its target (empty: good). */
  problems: string[];
}

export async function inspectVsix(file: string, target: Target, budget = VSIX_BUDGET_BYTES): Promise<VsixReport> {
  const source = await FileSource.open(file);
  try {
    const dir = await readZipDirectory(source);
    const problems = dir.problems.filter((p) => p.severity !== 'low').map((p) => `zip structure: ${p.message}`);
    const members = dir.entries.filter((e) => !e.name.endsWith('/'));
    const paths = members.filter((e) => e.name.startsWith('extension/')).map((e) => e.name.slice('extension/'.length));
    const vsixManifest = members.find((e) => e.name === 'extension.vsixmanifest');
    let manifestTarget: string | undefined;
    if (vsixManifest) {
      const opened = await openMember(source, vsixManifest, 1 << 20, false);
      const xml = (await opened.source.readAt(0, opened.source.size)).toString('utf8');
      manifestTarget = /TargetPlatform="([^"]+)"/.exec(xml)?.[1];
    }
    if (manifestTarget !== target.name) problems.push(`extension.vsixmanifest targets ${manifestTarget ?? 'no platform'}, not ${target.name}`);

    const platformPackages = [...new Set(paths.map((p) => /^node_modules\/(@[^/]+\/[^/]+)\//.exec(p)?.[1]).filter((n): n is string => !!n && PLATFORM_PACKAGE.test(n)))].sort();
    const expected = [target.llamaPackage, ...(target.yaraPackage ? [target.yaraPackage] : [])].sort();
    for (const name of platformPackages) if (!expected.includes(name)) problems.push(`another platform's package: ${name}`);
    for (const name of expected) if (!platformPackages.includes(name)) problems.push(`its own platform package is missing: ${name}`);

    const ortDirs = [...new Set(paths.map((p) => /^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/([^/]+\/[^/]+)\//.exec(p)?.[1]).filter((d): d is string => !!d))].sort();
    for (const p of paths) if (isForeignOrtBinary(p, target.ortDir)) problems.push(`another platform's ONNX Runtime binary: ${p}`);
    if (target.ortDir && !paths.some((p) => p.startsWith('node_modules/onnxruntime-node/bin/') && p.endsWith(`/${target.ortDir}/onnxruntime_binding.node`))) {
      problems.push(`its own ONNX Runtime binding (${target.ortDir}) is missing`);
    }
    if (!paths.some((p) => p.startsWith(`node_modules/${target.llamaPackage}/bins/`) && p.endsWith('.node'))) problems.push(`the llama.cpp addon of ${target.llamaPackage} is missing`);
    if (target.yaraPackage && !paths.some((p) => p.startsWith(`node_modules/${target.yaraPackage}/`) && p.endsWith('.node'))) problems.push(`the yara-x binary of ${target.yaraPackage} is missing`);

    for (const p of paths) {
      const why = exclusionOf(p);
      if (why) problems.push(`${why}: ${p}`);
    }
    for (const needed of ['package.json', 'dist/extension.js', 'dist/extension-main.js', 'dist/cli.js', 'dist/core-worker.js', 'dist/engine-host.js', 'bin/sovereign.js', 'LICENSE.txt', 'readme.md', 'changelog.md']) {
      if (!paths.some((p) => p.toLowerCase() === needed.toLowerCase())) problems.push(`${needed} is missing`);
    }
    const bundle = members.find((e) => e.name === `extension/${LLAMA_SOURCE_BUNDLE}`);
    if (!bundle) problems.push(`the llama.cpp source bundle ${LLAMA_SOURCE_BUNDLE} is missing (sovereign engine build compiles it)`);
    const sourceBundleBytes = bundle?.compressedSize ?? 0;
    const bytes = (await stat(file)).size;
    const counted = bytes - sourceBundleBytes;
    if (counted > budget) problems.push(`${(counted / 1024 / 1024).toFixed(1)} MB (without the llama.cpp source bundle) is over the budget of ${(budget / 1024 / 1024).toFixed(0)} MB`);
    const uncompressedBytes = members.reduce((n, e) => n + e.uncompressedSize, 0);
    return { bytes, sourceBundleBytes, files: paths.length, uncompressedBytes, paths, platformPackages, ortDirs, manifestTarget, problems };
  } finally {
    await source.close();
  }
}

/** The extension's package.json as packed in the VSIX. */
export async function inspectVsixManifest(file: string): Promise<unknown> {
  const source = await FileSource.open(file);
  try {
    const dir = await readZipDirectory(source);
    const entry = dir.entries.find((e) => e.name === 'extension/package.json');
    if (!entry) throw new Error(`${file} has no extension/package.json`);
    const opened = await openMember(source, entry, 16 << 20, true);
    return JSON.parse((await opened.source.readAt(0, opened.source.size)).toString('utf8'));
  } finally {
    await source.close();
  }
}
