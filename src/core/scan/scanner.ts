import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { analyzeSource, FileSource, type ModelFormat, type RuleStage } from '../formats';
import { loadRuleStage, type RuleFile } from './rules';
import { sha256File } from '../hash/sha256';
import { ioError } from '../util/errors';
import { isBlocking, type Finding } from '../formats/findings';

export interface FileReport {
  path: string;
  format: ModelFormat;
  sha256: string;
  size: number;
  findings: Finding[];
  /** Format facts (architecture, tensors, opsets...). Not part of the scan JSON contract; used by inspect/registry. */
  facts?: Record<string, unknown>;
}

export interface ScanReport {
  files: FileReport[];
}

export interface ScanOptions {
  signal?: AbortSignal;
  /** Called before each file is scanned, with its index and the total count. */
  onFile?: (path: string, index: number, total: number) => void;
  /** Skip hashing (inspect does not need digests). */
  skipHash?: boolean;
  /** Rule files added to the default YARA pack (the policy's scan.yara_rules: see policyRuleFiles). */
  extraRules?: readonly RuleFile[];
  /** The rule stage to run; by default the default pack plus `extraRules`, loaded when the scan starts. */
  rules?: RuleStage;
}

/** The rule stage a scan runs (compiled once per set of rule files; the native engine loads on first use). */
async function ruleStageFor(options: ScanOptions): Promise<RuleStage> {
  return options.rules ?? loadRuleStage({ extra: options.extraRules });
}

/** Folders never scanned: version-control metadata is not part of a model. */
const SKIPPED_DIRS = new Set(['.git', '.hg', '.svn']);

/** Expands files and folders (recursively) into a sorted list of files; symlinks are reported, never followed. */
export async function collectFiles(paths: readonly string[]): Promise<{ files: string[]; symlinks: string[] }> {
  const files: string[] = [];
  const symlinks: string[] = [];
  const visit = async (p: string): Promise<void> => {
    let st;
    try {
      st = await lstat(p);
    } catch (err) {
      throw ioError(err, p);
    }
    if (st.isSymbolicLink()) symlinks.push(p);
    else if (st.isDirectory()) {
      const names = (await readdir(p)).sort();
      for (const name of names) if (!SKIPPED_DIRS.has(name)) await visit(join(p, name));
    } else if (st.isFile()) files.push(p);
  };
  for (const p of paths) await visit(p);
  return { files, symlinks };
}

/** Scans one file: detect, analyse and hash, concurrently. */
export async function scanFile(path: string, options: ScanOptions = {}): Promise<FileReport> {
  const rules = await ruleStageFor(options);
  const source = await FileSource.open(path);
  try {
    const [analysis, sha256] = await Promise.all([
      analyzeSource(source, { signal: options.signal, rules }),
      options.skipHash ? Promise.resolve('') : sha256File(path, { signal: options.signal }),
    ]);
    return { path, format: analysis.format, sha256, size: source.size, findings: analysis.findings, facts: analysis.facts };
  } finally {
    await source.close();
  }
}

/** Scans files and folders. Paths in the report are as given (relative stays relative). */
export async function scanPaths(paths: readonly string[], options: ScanOptions = {}): Promise<ScanReport> {
  const { files, symlinks } = await collectFiles(paths);
  const rules = await ruleStageFor(options);
  const reports: FileReport[] = [];
  for (const link of symlinks) {
    reports.push({
      path: link,
      format: 'unknown',
      sha256: '',
      size: 0,
      findings: [{ rule: 'fs/symlink', severity: 'medium', message: 'symbolic link not followed: a model folder should hold its files, not point elsewhere', location: link }],
    });
  }
  for (let i = 0; i < files.length; i++) {
    options.signal?.throwIfAborted();
    options.onFile?.(files[i], i, files.length);
    reports.push(await scanFile(files[i], { ...options, rules }));
  }
  reports.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: reports };
}

/** True when any finding is high or critical: `sovereign scan` exits 1. */
export function reportBlocks(report: ScanReport): boolean {
  return report.files.some((f) => f.findings.some((x) => isBlocking(x.severity)));
}

/** The scan JSON contract: `{"files":[{"path","format","sha256","size","findings":[...]}]}`. */
export function toScanJson(report: ScanReport, base?: string): unknown {
  return {
    files: report.files.map((f) => ({
      path: base ? relative(base, f.path) || f.path : f.path,
      format: f.format,
      sha256: f.sha256,
      size: f.size,
      findings: f.findings.map((x) => ({ rule: x.rule, severity: x.severity, message: x.message, location: x.location ?? null })),
    })),
  };
}
