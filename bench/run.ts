/**
 * `npm run bench`: runs every bench/*-bench module (or those named on the command line), and writes the
 * figures to bench-results/bench-<time>.json and bench-results/latest.json. Figures are not asserted:
 * tests check behaviour, benchmarks report speed as ratios against a reference measured in the same run.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './util';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const names = (await readdir(__dirname)).filter((f) => f.endsWith('-bench.js')).map((f) => f.slice(0, -'-bench.js'.length)).sort();
  const selected = only.length ? names.filter((n) => only.includes(n)) : names;
  const results: Record<string, unknown> = {};
  for (const name of selected) {
    process.stderr.write(`bench: ${name}...\n`);
    const started = Date.now();
    try {
      const mod = (await import(join(__dirname, `${name}-bench.js`))) as { run: () => Promise<Record<string, unknown>> };
      results[name] = { ...(await mod.run()), benchSeconds: (Date.now() - started) / 1000 };
    } catch (err) {
      results[name] = { error: (err as Error).message };
    }
    process.stderr.write(`bench: ${name}: ${JSON.stringify(results[name])}\n`);
  }
  const report = {
    schema: 'sovereign-bench-suite/1',
    time: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryBytes: totalmem(), node: process.version, platform: `${process.platform}-${process.arch}` },
    results,
  };
  const dir = join(repoRoot(), 'bench-results');
  await mkdir(dir, { recursive: true });
  const text = JSON.stringify(report, null, 2) + '\n';
  await writeFile(join(dir, `bench-${report.time.replace(/[:.]/g, '-')}.json`), text);
  await writeFile(join(dir, 'latest.json'), text);
  process.stdout.write(text);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
});
