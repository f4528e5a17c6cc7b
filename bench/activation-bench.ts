import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { median, repoRoot, round, runIfMain, timeCommand } from './util';

const RUNS = 9;

interface Probe { requireMs: number; activateMs: number; totalMs: number; modulesLoaded: number }

/** Medians of RUNS probes of one bundle, each in a fresh process, with the process's own wall time. */
async function probe(bundle: string, root: string): Promise<Record<string, number>> {
  const runs: Array<Probe & { wallMs: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await timeCommand(process.execPath, [join(__dirname, 'activation-probe.js'), bundle, root]);
    if (r.code !== 0) throw new Error(`activation probe of ${bundle} failed (exit ${r.code}): ${r.stderr.slice(-2000)}`);
    runs.push({ ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe), wallMs: r.ms });
  }
  const m = (k: keyof (typeof runs)[number]): number => round(median(runs.map((r) => r[k])), 2);
  return { requireMs: m('requireMs'), activateMs: m('activateMs'), totalMs: m('totalMs'), wallMs: m('wallMs'), modulesLoaded: m('modulesLoaded') };
}

/**
 * Activation in Node: `require(dist/extension.js)` + `activate()` with a stand-in `vscode` (activation-probe.ts),
 * each in a fresh process, against `node -e 0` measured in the same run; also the first-use cost of the
 * workbench bundle (dist/extension-main.js). `SOVEREIGN_ACTIVATION_COMPARE=PATH` measures another extension
 * bundle (an earlier build, copied into dist/ so its externals resolve) in the same run. VS Code's own figure,
 * from the installed VSIX, is test/e2e/activation.e2e.ts (bench-results/activation.json).
 */
export async function run(): Promise<Record<string, unknown>> {
  const root = repoRoot();
  const shell = join(root, 'dist', 'extension.js');
  if (!existsSync(shell)) throw new Error('dist/extension.js is missing: run `npm run build` first');
  const reference: number[] = [];
  for (let i = 0; i < RUNS; i++) reference.push((await timeCommand(process.execPath, ['-e', '0'])).ms);
  const nodeMs = round(median(reference), 2);
  const activation = await probe(shell, root);
  const workbench = await probe(join(root, 'dist', 'extension-main.js'), root);
  const compare = process.env.SOVEREIGN_ACTIVATION_COMPARE;
  const other = compare ? await probe(compare, root) : undefined;
  const figure = {
    schema: 'sovereign-activation-node/1',
    time: new Date().toISOString(),
    runs: RUNS,
    nodeStartMs: nodeMs,
    activation,
    // require + activate() of the shell, per `node -e 0` of the same run.
    ratioToNodeStart: round(activation.totalMs / nodeMs, 3),
    workbenchFirstUse: { requireMs: workbench.requireMs, ratioToNodeStart: round(workbench.requireMs / nodeMs, 3) },
    ...(other && compare ? { compared: { bundle: compare, ...other, ratioToNodeStart: round(other.totalMs / nodeMs, 3) } } : {}),
  };
  const dir = join(root, 'bench-results');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'activation-node.json'), `${JSON.stringify(figure, null, 2)}\n`);
  process.stderr.write(
    `activation: require + activate() ${activation.totalMs} ms (${figure.ratioToNodeStart}x node -e 0 = ${nodeMs} ms), ${activation.modulesLoaded} modules; workbench on first use ${workbench.requireMs} ms${other ? `; compared bundle ${other.totalMs} ms` : ''}\n`,
  );
  return figure;
}

runIfMain(module, run);
