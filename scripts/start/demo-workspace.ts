/**
 * The demo workspace that `npm start` opens and the e2e tests run in: a git repository with
 *
 * - `models/tiny-llama.gguf`: a tiny deterministic llama model with FIM tokens (inline completion);
 * - `models/fraud-detector/model.onnx` + `data/fraud-validation.csv`: a small fraud classifier trained by
 *   the project (plain gradient descent in TypeScript) on synthetic data, and a held-out validation set;
 * - `.sovereign/`: registry entries, policy and benchmark results, made with the real `sovereign` CLI
 *   (dist/cli.js) where that command exists; every step that is not available yet is reported, not faked;
 * - `.vscode/settings.json`: completion pointed at the tiny model, everything offline.
 *
 * The models come from the test fixture generators (no weights can be downloaded here).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { writeTinyLlama } from '../../test/fixtures/gguf/tiny-llama';
import { writeFraudCsv, writeMlpClassifier } from '../../test/fixtures/onnx';
import { REPO_ROOT } from '../e2e/tooling';

const run = promisify(execFile);

export interface DemoWorkspace {
  dir: string;
  ggufModel: string;
  onnxModel: string;
  validationCsv: string;
  sourceFile: string;
  /** Steps done with the real CLI, e.g. `registry add tiny-llama`. */
  done: string[];
  /** Steps not available in this build, with the reason. */
  skipped: string[];
}

export interface DemoOptions {
  log?: (line: string) => void;
  /** Path of the bundled CLI; default dist/cli.js of this repository. */
  cli?: string;
}

const FRAUD_VALIDATION_ROWS = 500;
const FRAUD_VALIDATION_SEED = 7;

export async function prepareDemoWorkspace(dirArg: string, options: DemoOptions = {}): Promise<DemoWorkspace> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = resolve(dirArg);
  const cli = options.cli ?? join(REPO_ROOT, 'dist', 'cli.js');
  await mkdir(join(dir, 'models', 'fraud-detector'), { recursive: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'src'), { recursive: true });
  await mkdir(join(dir, '.vscode'), { recursive: true });

  const ggufModel = join(dir, 'models', 'tiny-llama.gguf');
  const onnxModel = join(dir, 'models', 'fraud-detector', 'model.onnx');
  const validationCsv = join(dir, 'data', 'fraud-validation.csv');
  const sourceFile = join(dir, 'src', 'checkout.ts');
  await writeTinyLlama(ggufModel, { fim: true, chatTemplate: true, f16: true, name: 'sovereign-demo-tiny-llama' });
  await writeMlpClassifier(onnxModel, { metadata: { task: 'fraud-detection', trained_by: 'sovereign-workbench demo (synthetic data)' } });
  await writeFraudCsv(validationCsv, FRAUD_VALIDATION_ROWS, FRAUD_VALIDATION_SEED);
  await writeFile(sourceFile, DEMO_SOURCE);
  await writeFile(join(dir, 'README.md'), DEMO_README);
  await writeFile(join(dir, '.gitignore'), '.sovereign-tmp/\n');
  await writeFile(join(dir, '.vscode', 'settings.json'), `${JSON.stringify(demoSettings(ggufModel), null, 2)}\n`);

  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['add', '-A']);
  await git(dir, ['-c', 'user.name=Sovereign Demo', '-c', 'user.email=demo@sovereign.invalid', 'commit', '-q', '-m', 'Demo workspace: models, data, code']);

  const result: DemoWorkspace = { dir, ggufModel, onnxModel, validationCsv, sourceFile, done: [], skipped: [] };
  if (!existsSync(cli)) {
    result.skipped.push(`every sovereign CLI step: ${cli} is missing (run \`npm run build\`)`);
  } else {
    const steps: CliStep[] = [
      { label: 'registry init', args: ['registry', 'init'] },
      { label: 'registry add tiny-llama', args: ['registry', 'add', ggufModel, '--name', 'tiny-llama', '--version', '0.1.0'] },
      { label: 'registry add fraud-detector', args: ['registry', 'add', onnxModel, '--name', 'fraud-detector', '--version', '1.0.0'] },
      { label: 'policy init', args: ['policy', 'init'] },
      { label: 'bench tiny-llama', args: ['bench', ggufModel, '--json'] },
      { label: 'eval fraud-detector', args: ['eval', onnxModel, '--data', validationCsv, '--json'] },
    ];
    for (const step of steps) await runCliStep(cli, dir, step, result, log);
    if (result.done.length) {
      await git(dir, ['add', '-A']);
      await git(dir, ['-c', 'user.name=Sovereign Demo', '-c', 'user.email=demo@sovereign.invalid', 'commit', '-q', '--allow-empty', '-m', 'Registry, policy and results']);
    }
  }
  for (const s of result.skipped) log(`demo workspace: skipped ${s}`);
  log(`demo workspace ready: ${dir} (${result.done.length} CLI step(s) done, ${result.skipped.length} skipped)`);
  return result;
}

interface CliStep {
  label: string;
  args: string[];
}

/** Runs a CLI step when the command exists in this build; otherwise records why it was skipped. */
async function runCliStep(cli: string, cwd: string, step: CliStep, result: DemoWorkspace, log: (line: string) => void): Promise<void> {
  const [noun, verb] = step.args;
  if (!(await cliHasCommand(cli, cwd, noun, verb))) {
    result.skipped.push(`${step.label}: \`sovereign ${noun}${verb && !verb.startsWith('-') && !verb.includes('/') ? ` ${verb}` : ''}\` is not in this build yet`);
    return;
  }
  try {
    await run(process.execPath, [cli, ...step.args], { cwd, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 });
    result.done.push(step.label);
    log(`demo workspace: ${step.label}`);
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    result.skipped.push(`${step.label}: exit ${e.code ?? '?'}: ${(e.stderr ?? String(error)).trim().split('\n').slice(-2).join(' ')}`);
  }
}

async function cliHasCommand(cli: string, cwd: string, noun: string, verb: string | undefined): Promise<boolean> {
  const help = await run(process.execPath, [cli, '--help'], { cwd }).then((r) => r.stdout, () => '');
  if (!new RegExp(`^\\s+${noun}\\b`, 'm').test(help)) return false;
  if (!verb || verb.startsWith('-') || verb.includes('/')) return true;
  const nounHelp = await run(process.execPath, [cli, noun, '--help'], { cwd }).then((r) => r.stdout, () => '');
  return new RegExp(`^\\s+${verb}\\b`, 'm').test(nounHelp);
}

async function git(cwd: string, args: string[]): Promise<void> {
  await run('git', args, { cwd });
}

/** Workspace settings: completion from the tiny model, no call-home. */
export function demoSettings(ggufModel: string): Record<string, unknown> {
  return {
    'sovereign.completion.enabled': true,
    'sovereign.completion.backend': 'embedded',
    'sovereign.completion.modelPath': ggufModel,
    'editor.inlineSuggest.enabled': true,
    'telemetry.telemetryLevel': 'off',
  };
}

const DEMO_SOURCE = `// A demo file for inline completion: type at the end of a line and wait for ghost text, Tab accepts it.
export interface Payment {
  amount: number;
  merchantRisk: number;
}

export function isSuspicious(payment: Payment): boolean {
  return payment.amount > 5000 && payment.merchantRisk > 0.8;
}
`;

const DEMO_README = `# Sovereign Workbench demo workspace

Generated by \`npm start\`. Everything here runs on this machine; nothing is downloaded.

- \`models/tiny-llama.gguf\`: a tiny llama model generated in code (deterministic output), used for inline
  completion in \`src/checkout.ts\`. Point \`sovereign.completion.modelPath\` at a real GGUF (for example a
  Qwen2.5-Coder base model) for useful suggestions.
- \`models/fraud-detector/model.onnx\`: a small fraud classifier trained on synthetic data;
  \`data/fraud-validation.csv\` is its held-out validation set.
- \`.sovereign/\`: the model registry, policy and benchmark results (tracked in git).

Try the command palette (F1): "Sovereign: Scan Model...", "Sovereign: Inspect Model...".
`;
