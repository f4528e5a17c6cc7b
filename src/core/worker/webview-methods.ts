/**
 * Worker-side work for the webviews: the lineage layout (dagre per family, cached across calls in this
 * thread) and reading the stored benchmark reports. Both stay off the extension host thread.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { LineageGraph } from '../registry/lineage';
import { layoutLineage, type LineageLayout } from '../views/lineage-layout';
import type { BenchmarkFileProblem, BenchmarkRun, StoredBenchReport } from '../../../webview/benchmarks/contract';

export function lineageLayout(graph: LineageGraph): LineageLayout {
  return layoutLineage(graph);
}

const MAX_REPORT_BYTES = 5 * 1024 * 1024;
const MAX_REPORTS = 5_000;

/** Every `.sovereign/benchmarks/NAME/VERSION/*.json` report, oldest first; unreadable files are named. */
export async function benchmarkRuns(root: string): Promise<{ runs: BenchmarkRun[]; problems: BenchmarkFileProblem[] }> {
  const base = join(root, '.sovereign', 'benchmarks');
  const runs: BenchmarkRun[] = [];
  const problems: BenchmarkFileProblem[] = [];
  const dirs = async (path: string): Promise<string[]> => (await readdir(path, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const model of await dirs(base)) {
    for (const version of await dirs(join(base, model))) {
      const files = (await readdir(join(base, model, version)).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).sort();
      for (const f of files) {
        if (runs.length + problems.length >= MAX_REPORTS) return { runs, problems: [...problems, { file: '.sovereign/benchmarks', message: `more than ${MAX_REPORTS} reports: the rest are not shown` }] };
        const rel = `.sovereign/benchmarks/${model}/${version}/${f}`;
        const abs = join(base, model, version, f);
        try {
          if ((await stat(abs)).size > MAX_REPORT_BYTES) throw new Error(`larger than ${MAX_REPORT_BYTES / 1024 / 1024} MiB: not a sovereign bench report`);
          const report = JSON.parse(await readFile(abs, 'utf8')) as StoredBenchReport;
          if (typeof report !== 'object' || report === null || typeof report.schema !== 'string' || !report.schema.startsWith('sovereign.bench/')) {
            throw new Error('not a sovereign bench report (no "schema": "sovereign.bench/v1")');
          }
          runs.push({ id: rel, model, version, createdAt: typeof report.createdAt === 'string' ? report.createdAt : '', report });
        } catch (err) {
          problems.push({ file: rel, message: (err as Error).message });
        }
      }
    }
  }
  runs.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  return { runs, problems };
}
