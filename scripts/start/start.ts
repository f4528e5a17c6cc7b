/**
 * `npm start [folder] [--code-server] [--port N] [--fresh]`: the workbench in one command.
 *
 * 1. builds the extension when a source changed;
 * 2. prepares the demo workspace (default `.cache/demo-workspace`; see demo-workspace.ts);
 * 3. opens it in VS Code with the extension loaded: the desktop `code` when it is on PATH
 *    (`--extensionDevelopmentPath`), else code-server (VS Code 1.139.1, installed on demand into
 *    `.cache/e2e/`) on 127.0.0.1 with the URL printed. Ctrl+C stops it (its whole process group).
 *
 * Nothing contacts another machine: empty gallery, telemetry and update checks off, and every
 * outbound request of the server is sent to a local guard that refuses it and reports it at exit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { installExtension, startCodeServer } from '../e2e/code-server';
import { ensureBuilt } from '../e2e/ensure-built';
import { startOutboundGuard } from '../e2e/outbound-guard';
import { CACHE_DIR, ensureTooling, REPO_ROOT } from '../e2e/tooling';
import { prepareDemoWorkspace } from './demo-workspace';

const DEMO_MARKER = 'models/tiny-llama.gguf';
const STATE_DIR = join(REPO_ROOT, '.cache', 'workbench');

interface StartArgs {
  folder: string;
  forceCodeServer: boolean;
  port?: number;
  fresh: boolean;
}

function parseArgs(argv: string[]): StartArgs {
  const args: StartArgs = { folder: join(REPO_ROOT, '.cache', 'demo-workspace'), forceCodeServer: false, fresh: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--code-server') args.forceCodeServer = true;
    else if (a === '--fresh') args.fresh = true;
    else if (a === '--port') args.port = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm start -- [folder] [--code-server] [--port N] [--fresh]\n');
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option ${a}`, 'run `npm start -- --help`');
    else args.folder = resolve(a);
  }
  if (args.port !== undefined && !(Number.isInteger(args.port) && args.port > 0 && args.port < 65536)) fail('--port needs a port number (1-65535)', 'e.g. `npm start -- --port 8080`');
  return args;
}

function fail(message: string, hint: string): never {
  process.stderr.write(`sovereign start: ${message}\n  hint: ${hint}\n`);
  process.exit(2);
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function prepareWorkspace(args: StartArgs): Promise<void> {
  const exists = existsSync(args.folder) && readdirSync(args.folder).length > 0;
  const isDemo = existsSync(join(args.folder, DEMO_MARKER));
  if (exists && !isDemo) fail(`${args.folder} is not empty and is not a demo workspace`, 'give an empty or new folder: `npm start -- /path/to/new-folder`');
  if (isDemo && !args.fresh) {
    log(`demo workspace: reusing ${args.folder} (npm start -- --fresh to generate it again)`);
    return;
  }
  if (isDemo) await rm(args.folder, { recursive: true, force: true });
  await prepareDemoWorkspace(args.folder, { log: (l) => log(l) });
}

function desktopCode(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v code'], { encoding: 'utf8' }).stdout.trim();
  // code-server installs a `code-server` binary, and its terminals put a `code` shim on PATH that
  // talks to the server: only a real desktop VS Code is used here.
  if (!found || process.env.VSCODE_IPC_HOOK_CLI) return undefined;
  return found;
}

async function openInDesktop(code: string, folder: string): Promise<void> {
  log(`opening ${folder} in VS Code (${code}) with the extension from ${REPO_ROOT}`);
  const child = spawn(code, ['--new-window', `--extensionDevelopmentPath=${REPO_ROOT}`, folder], { stdio: 'inherit', detached: true });
  child.unref();
}

async function openInCodeServer(args: StartArgs): Promise<void> {
  const tooling = await ensureTooling(log);
  await mkdir(STATE_DIR, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string };
  const extensionId = `${manifest.publisher}.${manifest.name}`;

  // Without the smoke-test driver code-server ignores extensionDevelopmentPath, so the extension is
  // packaged and installed; its node_modules (native engines) link back to this repository.
  const vsix = join(STATE_DIR, 'sovereign-workbench.vsix');
  log('packaging the extension (vsce package --no-dependencies)...');
  const vsce = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--skip-license', '--allow-missing-repository', '--allow-star-activation', '-o', vsix], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (vsce.status !== 0) fail(`vsce package failed:\n${vsce.stdout}\n${vsce.stderr}`, 'fix the manifest problem it names, then run `npm start` again');
  const guard = await startOutboundGuard();
  const serverOptions = { tooling, stateDir: STATE_DIR, proxyUrl: guard.url, port: args.port, smokeTestDriver: false };
  const installed = await installExtension(serverOptions, vsix, extensionId);
  await rm(join(installed, 'node_modules'), { recursive: true, force: true });
  await symlink(join(REPO_ROOT, 'node_modules'), join(installed, 'node_modules'), 'dir');

  const server = await startCodeServer(serverOptions);
  const url = `${server.origin}/?folder=${encodeURIComponent(args.folder)}`;
  process.stdout.write(`\nSovereign Workbench is running in VS Code ${'1.139.1'} (code-server), on this machine only:\n\n  ${url}\n\nOpen it in a browser on this machine. Logs: ${server.logFile}. Ctrl+C stops it.\n`);
  const stop = async (): Promise<void> => {
    await server.stop();
    await guard.close();
    if (guard.attempts.length) log(`outbound attempts refused: ${guard.attempts.join('; ')}`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  ensureBuilt();
  await prepareWorkspace(args);
  const code = args.forceCodeServer ? undefined : desktopCode();
  if (code) await openInDesktop(code, args.folder);
  else await openInCodeServer(args);
  log(`e2e tooling cache: ${CACHE_DIR}`);
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error), 'see the message above; `npm start -- --help` lists the options'));
