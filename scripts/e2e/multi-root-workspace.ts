/**
 * A multi-root workspace for the extension-host suite (test/extension-multiroot): a `.code-workspace` file with
 * two folders, `alpha` and `beta`, each its own git repository with its own registry (made with the real
 * `sovereign` CLI, dist/cli.js) and one registered ONNX model; beta's policy accepts only Apache-2.0 licences,
 * so its MIT model breaks it while alpha's (default licences) does not. A third repository, `gamma`, with its
 * own registry, sits beside them but outside the workspace file: the suite adds it at run time.
 *
 * The registries keep their artifacts in one store beside the repositories (`store:` in each
 * `.sovereign/config.yaml`), so the extension host, which runs with its own HOME, finds them.
 */
import { execFile } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { writeMlpClassifier } from '../../test/fixtures/onnx';
import { REPO_ROOT } from './tooling';

const run = promisify(execFile);

export interface MultiRootWorkspace {
  /** The `.code-workspace` file (folders alpha and beta). */
  file: string;
  folders: { alpha: string; beta: string };
  /** A governed repository outside the workspace file, next to it (`gamma`). */
  extra: string;
}

export const MULTI_ROOT_MODELS = { alpha: 'alpha-classifier', beta: 'beta-classifier', gamma: 'gamma-classifier' } as const;

export async function prepareMultiRootWorkspace(dirArg: string, cli = join(REPO_ROOT, 'dist', 'cli.js')): Promise<MultiRootWorkspace> {
  const dir = resolve(dirArg);
  const store = join(dir, 'store');
  const repos = { alpha: join(dir, 'alpha'), beta: join(dir, 'beta'), gamma: join(dir, 'gamma') };
  let seed = 11;
  for (const [name, repo] of Object.entries(repos) as [keyof typeof repos, string][]) {
    await mkdir(join(repo, 'models'), { recursive: true });
    await git(repo, ['init', '-q', '-b', 'main']);
    await git(repo, ['config', 'user.name', 'Sovereign Multi-root Test']);
    await git(repo, ['config', 'user.email', 'multi-root@sovereign.invalid']);
    await writeFile(join(repo, 'README.md'), `# ${name}\n`);
    await git(repo, ['add', '-A']);
    await git(repo, ['commit', '-q', '-m', `${name}: a repository of the multi-root workspace`]);
    await sovereign(cli, repo, ['registry', 'init']);
    await writeFile(join(repo, '.sovereign', 'config.yaml'), `store: ${JSON.stringify(store)}\n`);
    const model = join(repo, 'models', 'model.onnx');
    await writeMlpClassifier(model, { seed: seed++ });
    const modelName = MULTI_ROOT_MODELS[name];
    await sovereign(cli, repo, ['registry', 'add', model, '--name', modelName, '--version', '1.0.0', '--license', 'MIT', '--source', `https://example.invalid/multi-root/${modelName}`]);
  }
  // beta's own policy: Apache-2.0 only (its MIT model breaks it); alpha keeps the default (no licence rule).
  const betaPolicy = join(repos.beta, '.sovereign', 'policy.yaml');
  await appendFile(betaPolicy, '\nlicenses:\n  allowed: [apache-2.0]\n');
  if (!(await readFile(betaPolicy, 'utf8')).includes('allowed: [apache-2.0]')) throw new Error(`could not write ${betaPolicy}`);
  const file = join(dir, 'multi-root.code-workspace');
  await writeFile(file, `${JSON.stringify({ folders: [{ path: 'alpha' }, { path: 'beta' }], settings: { 'telemetry.telemetryLevel': 'off' } }, null, 2)}\n`);
  return { file, folders: { alpha: repos.alpha, beta: repos.beta }, extra: repos.gamma };
}

async function sovereign(cli: string, cwd: string, args: string[]): Promise<void> {
  try {
    await run(process.execPath, [cli, ...args], { cwd, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 });
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    throw new Error(`sovereign ${args.slice(0, 2).join(' ')} in ${cwd} failed (exit ${e.code}): ${e.stderr ?? String(err)}`);
  }
}

async function git(cwd: string, args: string[]): Promise<void> {
  await run('git', args, { cwd });
}
