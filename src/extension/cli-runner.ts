import * as vscode from 'vscode';
import { fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ExtensionServices } from './context';

export interface CliRun {
  code: number | null;
  stdout: string;
  /** The last stderr lines: the CLI's own message when it fails. */
  stderrTail: string[];
}

/**
 * Runs the bundled `sovereign` CLI (dist/cli.js) in a child process: long, native or Docker-bound work
 * (deployments, benchmarks, evaluation) stays out of the extension host, and the extension speaks the same
 * contract as CI pipelines (`--json` on stdout, progress on stderr, exit 0/1/2).
 */
export function runCli(services: ExtensionServices, args: string[], options: { cwd?: string; token?: vscode.CancellationToken; onLine?: (line: string) => void } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = fork(services.cliPath, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, execArgv: [] });
    let stdout = '';
    const tail: string[] = [];
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      services.log.info(`[sovereign ${args[0]}${args[1] && !args[1].startsWith('-') ? ` ${args[1]}` : ''}] ${line}`);
      options.onLine?.(line);
    });
    const sub = options.token?.onCancellationRequested(() => child.kill('SIGTERM'));
    child.once('error', reject);
    child.once('close', (code) => {
      sub?.dispose();
      resolve({ code, stdout, stderrTail: tail });
    });
  });
}

/** Runs the CLI with a cancellable notification; returns parsed `--json` output, or undefined after showing the error. */
export async function runCliWithProgress<T>(services: ExtensionServices, title: string, args: string[], cwd?: string): Promise<{ result?: T; code: number | null } | undefined> {
  const run = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
    runCli(services, args, { cwd, token, onLine: (line) => progress.report({ message: line.slice(0, 120) }) }),
  );
  let result: T | undefined;
  try {
    result = run.stdout.trim() ? (JSON.parse(run.stdout) as T) : undefined;
  } catch {
    result = undefined;
  }
  if (run.code === 2 || (run.code !== 0 && result === undefined)) {
    const message = run.stderrTail.filter((l) => l.startsWith('sovereign:') || /error|failed|refused/i.test(l)).slice(-2).join(' ') || run.stderrTail.slice(-1)[0] || `exit ${run.code}`;
    void vscode.window.showErrorMessage(`Sovereign: ${title} failed: ${message.replace(/^sovereign:\s*/, '')}`, 'Show Log').then((c) => c && services.log.show());
    return undefined;
  }
  return { result, code: run.code };
}
