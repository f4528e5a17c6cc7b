/**
 * Starts code-server (VS Code 1.139.1) on 127.0.0.1 with a free port, isolated in its own folders, with
 * every call-home switched off, and stops its whole process group (a file-watcher child outlives the
 * main pid otherwise).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Tooling } from './tooling';

export interface CodeServerOptions {
  tooling: Tooling;
  /** Folder for HOME, XDG dirs, user data, extensions and logs of this run. */
  stateDir: string;
  /** Proxy that every outbound request of the server and extension host goes to (see outbound-guard). */
  proxyUrl?: string;
  /** Fixed port; default: a free one. */
  port?: number;
  /** Extra user settings (merged over the offline defaults). */
  settings?: Record<string, unknown>;
  /**
   * VS Code's smoke-test driver (default true): required for the `payload` parameters
   * (extensionDevelopmentPath, extensionTestsPath), but it also turns notification toasts off.
   * `npm start` runs without it and installs the extension instead.
   */
  smokeTestDriver?: boolean;
}

export interface CodeServer {
  port: number;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  pid: number;
  /** stdout + stderr of code-server. */
  logFile: string;
  /** VS Code's own logs folder (server, extension host, output channels). */
  logsDir: string;
  stop(): Promise<void>;
}

/** Settings that keep VS Code from reaching other machines and from showing first-run noise. */
export const OFFLINE_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.enableExperiments': false,
  'workbench.settings.enableNaturalLanguageSearch': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'chat.disableAIFeatures': true,
  'security.workspace.trust.enabled': false,
  'npm.fetchOnlinePackageInfo': false,
  'json.schemaDownload.enable': false,
  'typescript.disableAutomaticTypeAcquisition': true,
  'git.autofetch': false,
  'git.openRepositoryInParentFolders': 'never',
  'window.commandCenter': false,
};

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
  const { tooling, stateDir } = options;
  const port = options.port ?? (await freePort());
  const { dirs, env, configFile } = await prepareState(options, port);
  const args = [
    tooling.codeServerEntry,
    ...commonArgs(dirs, configFile),
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--disable-proxy',
    // Without it VS Code silently ignores the extensionTestsPath payload (see extension-host.ts).
    ...(options.smokeTestDriver === false ? [] : ['--vscode-option', 'enable-smoke-test-driver']),
  ];

  const logFile = join(stateDir, 'code-server.log');
  const out = createWriteStream(logFile, { flags: 'a' });
  // detached: its own process group (setsid), so stop() can signal every descendant at once.
  const child: ChildProcess = spawn(tooling.node, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`code-server did not start (${tooling.node} ${tooling.codeServerEntry}).`);
  let exited = false;
  child.on('exit', () => (exited = true));

  const origin = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await killGroup(pid, () => exited);
    await new Promise((done) => out.end(done));
  };
  try {
    await waitForHealth(origin, () => exited, 90_000);
  } catch (error) {
    await stop();
    const tail = existsSync(logFile) ? (await readFile(logFile, 'utf8')).slice(-3000) : '';
    throw new Error(`${(error as Error).message}\n--- ${logFile} (tail) ---\n${tail}`);
  }
  return { port, origin, pid, logFile, logsDir: join(dirs.userData, 'logs'), stop };
}

interface StateDirs {
  home: string;
  config: string;
  data: string;
  cache: string;
  userData: string;
  extensions: string;
}

/** HOME, XDG dirs, user data and extensions under `stateDir`: nothing of the user's own setup leaks in. */
async function prepareState(options: CodeServerOptions, port: number): Promise<{ dirs: StateDirs; env: NodeJS.ProcessEnv; configFile: string }> {
  const { tooling, stateDir } = options;
  const dirs: StateDirs = {
    home: join(stateDir, 'home'),
    config: join(stateDir, 'config'),
    data: join(stateDir, 'data'),
    cache: join(stateDir, 'cache'),
    userData: join(stateDir, 'user-data'),
    extensions: join(stateDir, 'extensions'),
  };
  await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true })));
  await mkdir(join(dirs.userData, 'User'), { recursive: true });
  const settingsFile = join(dirs.userData, 'User', 'settings.json');
  // Keep what a person changed in an earlier `npm start`; the offline settings always win.
  const previous = await readFile(settingsFile, 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>, () => ({}));
  const settings = { ...previous, ...OFFLINE_SETTINGS, ...(options.proxyUrl ? { 'http.proxy': options.proxyUrl } : {}), ...options.settings };
  await writeFile(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);
  const configFile = join(stateDir, 'code-server.yaml');
  await writeFile(configFile, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    // An empty gallery: no marketplace / Open VSX requests at all.
    EXTENSIONS_GALLERY: '{}',
    // The cached Node 24 runs code-server; its children (extension host) inherit it.
    PATH: `${join(tooling.nodeDir, 'bin')}:${process.env.PATH ?? ''}`,
    NODE_OPTIONS: '',
    ...(options.proxyUrl
      ? { HTTP_PROXY: options.proxyUrl, HTTPS_PROXY: options.proxyUrl, http_proxy: options.proxyUrl, https_proxy: options.proxyUrl, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' }
      : {}),
  };
  delete env.VSCODE_IPC_HOOK_CLI;
  delete env.ELECTRON_RUN_AS_NODE;
  return { dirs, env, configFile };
}

function commonArgs(dirs: StateDirs, configFile: string): string[] {
  return ['--auth', 'none', '--config', configFile, '--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];
}

/**
 * Installs a .vsix into the extensions folder of `stateDir` (code-server `--install-extension`, offline)
 * and returns the folder it was installed to.
 */
export async function installExtension(options: CodeServerOptions, vsix: string, extensionId: string): Promise<string> {
  const { dirs, env, configFile } = await prepareState(options, options.port ?? 0);
  await new Promise<void>((done, fail) => {
    const child = spawn(options.tooling.node, [options.tooling.codeServerEntry, ...commonArgs(dirs, configFile), '--force', '--install-extension', vsix], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', fail);
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`code-server --install-extension ${vsix} failed (exit ${code}):\n${output}`))));
  });
  const folder = (await readdir(dirs.extensions)).find((name) => name.toLowerCase().startsWith(`${extensionId.toLowerCase()}-`));
  if (!folder) throw new Error(`${extensionId} is not in ${dirs.extensions} after installing ${vsix}.`);
  return join(dirs.extensions, folder);
}

async function waitForHealth(origin: string, hasExited: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited()) throw new Error('code-server exited during start-up.');
    try {
      const response = await fetch(`${origin}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`code-server did not answer on ${origin}/healthz within ${timeoutMs / 1000} s.`);
}

/** SIGTERM to the whole group, then SIGKILL what is left after a grace period. */
export async function killGroup(pid: number, hasExited: () => boolean = () => false): Promise<void> {
  const signal = (sig: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      return false; // the group is gone
    }
  };
  if (!signal('SIGTERM')) return;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    await sleep(100);
    if (hasExited() && !signal(0)) return;
  }
  signal('SIGKILL');
}

/** Every file under VS Code's logs folder, concatenated with its path (for assertions and reports). */
export async function readLogs(dir: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if ((await stat(path)).size < 5_000_000) parts.push(`### ${path}\n${await readFile(path, 'utf8')}`);
    }
  };
  await walk(dir);
  return parts.join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
