/**
 * `sovereign bench` as one use case, for every front end (the CLI command, the extension): a manifest resolves
 * to its store object (name and version from it), the benchmark runs, and `save` writes the report under
 * `.sovereign/benchmarks/NAME/VERSION/`.
 */
import { resolveModelSource } from '../serve/model-source';
import { UsageError } from '../util/errors';
import { runBench, saveBenchReport, type BenchOptions, type BenchReport } from './bench';

export interface BenchTargetOptions extends BenchOptions {
  /** Write the report into the workspace (needs `workspaceRoot`). */
  save?: boolean;
  /** The name and version it is saved under (default: the manifest's, else the model's name and 'unversioned'). */
  name?: string;
  version?: string;
}

export interface BenchedTarget {
  report: BenchReport;
  /** The file written when `save` was asked. */
  saved?: string;
}

export async function benchTarget(options: BenchTargetOptions): Promise<BenchedTarget> {
  const { save, workspaceRoot } = options;
  let { target, name, version } = options;
  if (/\.ya?ml$/i.test(target)) {
    const source = await resolveModelSource(target);
    target = source.path;
    name ??= source.name;
    version ??= source.version;
  }
  if (save && !workspaceRoot) throw new UsageError('--save needs a governed workspace (a git repository with .sovereign/)', 'run `sovereign registry init` in the repository, or use --json FILE');
  const report = await runBench({ ...options, target });
  if (!save || !workspaceRoot) return { report };
  return { report, saved: await saveBenchReport(report, workspaceRoot, name ?? report.target.name, version ?? 'unversioned') };
}
