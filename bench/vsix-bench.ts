import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageTargets, summaryLine } from '../scripts/package/package';
import { VSIX_BUDGET_BYTES } from '../scripts/package/targets';
import { repoRoot, round, runIfMain } from './util';

/**
 * The shipped product's size: `npm run package` for every target (from the dist/ `npm run bench` built), one line
 * per VSIX on stderr (target, MB, files, seconds), and the figures, with the budget and the activation time that
 * the e2e run measured last (bench-results/activation.json, when there is one).
 */
export async function run(): Promise<Record<string, unknown>> {
  const root = repoRoot();
  const packed = await packageTargets({ out: join(root, 'dist-vsix'), skipBuild: true, log: () => undefined });
  const targets: Record<string, unknown> = {};
  for (const p of packed) {
    process.stderr.write(`vsix: ${summaryLine(p)}\n`);
    targets[p.target] = { mb: round(p.report.bytes / 1024 / 1024, 1), files: p.report.files, unpackedMb: round(p.report.uncompressedBytes / 1024 / 1024, 1), seconds: round(p.seconds, 1), problems: p.report.problems };
  }
  const activation = await readFile(join(root, 'bench-results', 'activation.json'), 'utf8').then((t) => JSON.parse(t) as { activationMs: number; extension: string; time: string }, () => undefined);
  return {
    budgetMb: VSIX_BUDGET_BYTES / 1024 / 1024,
    totalSeconds: round(packed.reduce((n, p) => n + p.seconds, 0), 1),
    targets,
    ...(activation ? { activation: { ms: activation.activationMs, goalMs: 50, extension: activation.extension, measured: activation.time } } : {}),
  };
}

runIfMain(module, run);
