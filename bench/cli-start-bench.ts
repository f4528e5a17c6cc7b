import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, repoRoot, round, runIfMain, timeCommand, writeBenchResult } from './util';

/**
 * CLI start (issue 18): CPU time (user + system, the process's own accounting) of `sovereign --version` and of
 * `sovereign scan SMALLFILE` against a bare `node -e 0`, run in turn in the same rounds so machine load hits
 * all three alike. Through bin/sovereign.js as users run it, with its code cache in a fresh folder (written by
 * the warm-up run). Goal: each ratio <= 1.5. Writes bench-results/cli-start.json too.
 */
export async function run(): Promise<Record<string, unknown>> {
  const root = repoRoot();
  const probe = join(root, 'out', 'bench', 'rss-probe.js');
  const cli = join(root, 'bin', 'sovereign.js');
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-cli-start-'));
  const small = join(dir, 'notes.txt');
  await writeFile(small, 'just text\n');
  const env = { SOVEREIGN_COMPILE_CACHE: join(dir, 'compile-cache'), NODE_OPTIONS: '' };
  const rounds = Number(process.env.CLI_START_ROUNDS ?? 30);
  const commands: Record<string, string[]> = {
    node: ['-r', probe, '-e', '0'],
    version: ['-r', probe, cli, '--version'],
    scan: ['-r', probe, cli, 'scan', small],
  };
  const cpu: Record<string, number[]> = { node: [], version: [], scan: [] };
  const wall: Record<string, number[]> = { node: [], version: [], scan: [] };
  const ratios: Record<string, number[]> = { version: [], scan: [] };
  try {
    for (const args of Object.values(commands)) await timeCommand(process.execPath, args, env); // warm-up, writes the code cache
    for (let i = 0; i < rounds; i++) {
      const us: Record<string, number> = {};
      for (const [name, args] of Object.entries(commands)) {
        const r = await timeCommand(process.execPath, args, env);
        if (r.code !== 0) throw new Error(`${name} exited ${r.code}: ${r.stderr}`);
        const m = /CPU_US (\d+)/.exec(r.stderr);
        if (!m) throw new Error(`${name}: no CPU figure from the probe`);
        us[name] = Number(m[1]);
        cpu[name].push(us[name] / 1000);
        wall[name].push(r.ms);
      }
      ratios.version.push(us.version / us.node);
      ratios.scan.push(us.scan / us.node);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const result = {
    rounds,
    cpuMsMedian: { node: round(median(cpu.node)), version: round(median(cpu.version)), scan: round(median(cpu.scan)) },
    wallMsMedian: { node: round(median(wall.node)), version: round(median(wall.version)), scan: round(median(wall.scan)) },
    /** Median of the per-round ratios (CPU time against `node -e 0` of the same round). */
    ratioVersion: round(median(ratios.version)),
    ratioScan: round(median(ratios.scan)),
    goal: 1.5,
  };
  await writeBenchResult('cli-start', result);
  process.stderr.write(`cli-start: --version ${result.ratioVersion}x, scan ${result.ratioScan}x the CPU of node -e 0 (goal <= 1.5)\n`);
  return result;
}

runIfMain(module, run);
