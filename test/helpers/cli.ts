import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The checkout root, whether tests run compiled (out/test/...) or from source (test/...). */
function findRepoRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'esbuild.mjs'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root above ${from}`);
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = findRepoRoot(__dirname);
export const CLI = join(REPO_ROOT, 'bin', 'sovereign.js');

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs the real `sovereign` CLI (bin/sovereign.js -> dist/cli.js) as a child process. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
