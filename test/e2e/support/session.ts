/**
 * The one e2e session of a run: code-server (VS Code 1.139.1) on 127.0.0.1, an outbound guard, Chromium,
 * the demo workspace. Started once by the root hooks (hooks.ts), used by every `*.e2e.ts` file.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, type RecordedBrowser } from '../../../scripts/e2e/browser';
import { installExtension, readLogs, startCodeServer, type CodeServer } from '../../../scripts/e2e/code-server';
import { findOutboundLogLines, startOutboundGuard, type OutboundGuard } from '../../../scripts/e2e/outbound-guard';
import { ensureTooling, REPO_ROOT, type Tooling } from '../../../scripts/e2e/tooling';
import { prepareDemoWorkspace, type DemoWorkspace } from '../../../scripts/start/demo-workspace';
import { e2eVsix } from '../../../scripts/package/e2e-vsix';

export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-results', 'screenshots');

/**
 * Where the UI tests load the extension from. `installed` (default): the linux-x64 VSIX, built by the packager
 * (scripts/package) or taken from SOVEREIGN_E2E_VSIX, installed with `code-server --install-extension` into
 * this run's clean extensions folder: the product as users get it. `development` (SOVEREIGN_E2E_EXTENSION=
 * development): the repository itself, as extensionDevelopmentPath. The extension-host mocha suite always runs
 * on the development path (it needs extensionTestsPath).
 */
export interface ExtensionUnderTest {
  mode: 'installed' | 'development';
  /** The extension's folder on the server: the installed copy, or the repository. */
  path: string;
  vsix?: string;
}

export interface E2eSession {
  tooling: Tooling;
  stateDir: string;
  workspace: DemoWorkspace;
  server: CodeServer;
  guard: OutboundGuard;
  browser: RecordedBrowser;
  repoRoot: string;
  extension: ExtensionUnderTest;
}

let current: E2eSession | undefined;

export function session(): E2eSession {
  if (!current) throw new Error('The e2e session is not started: run these tests with `npm run test:e2e` (test/e2e/mocharc.json loads the root hooks).');
  return current;
}

const log = (line: string): void => void process.stderr.write(`  [e2e] ${line}\n`);

export async function startSession(options: { keepScreenshots?: boolean } = {}): Promise<E2eSession> {
  const started = Date.now();
  const tooling = await ensureTooling(log);
  const stateDir = await mkdtemp(join(tmpdir(), 'sovereign-e2e-'));
  // Screenshots of this run only (the benchmarks keep those of the last e2e run).
  if (!options.keepScreenshots) await rm(SCREENSHOT_DIR, { recursive: true, force: true });
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const workspace = await prepareDemoWorkspace(join(stateDir, 'workspace'), { log });
  const guard = await startOutboundGuard();
  const serverOptions = { tooling, stateDir: join(stateDir, 'code-server'), proxyUrl: guard.url };
  let extension: ExtensionUnderTest = { mode: 'development', path: REPO_ROOT };
  if (process.env.SOVEREIGN_E2E_EXTENSION !== 'development') {
    const vsix = await e2eVsix(log);
    const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { publisher: string; name: string };
    const path = await installExtension(serverOptions, vsix, `${manifest.publisher}.${manifest.name}`);
    extension = { mode: 'installed', path, vsix };
    log(`installed ${vsix} into ${path}`);
  }
  const server = await startCodeServer(serverOptions);
  log(`code-server ${server.origin} (pid ${server.pid}), workspace ${workspace.dir}, extension ${extension.mode} (${extension.path}), ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const browser = await launchBrowser(tooling.chromium);
  current = { tooling, stateDir, workspace, server, guard, browser, repoRoot: REPO_ROOT, extension };
  return current;
}

export interface OutboundReport {
  browser: string[];
  proxy: string[];
  logLines: string[];
}

/** Stops everything (whole process group of code-server) and returns what tried to leave the machine. */
export async function stopSession(): Promise<OutboundReport | undefined> {
  const s = current;
  current = undefined;
  if (!s) return undefined;
  await s.browser.close();
  await s.server.stop();
  await s.guard.close();
  const logs = `${await readFile(s.server.logFile, 'utf8').catch(() => '')}\n${await readLogs(s.server.logsDir)}`;
  const report = { browser: [...s.browser.outbound], proxy: [...s.guard.attempts], logLines: findOutboundLogLines(logs) };
  if (process.env.SOVEREIGN_E2E_KEEP) log(`state kept in ${s.stateDir}`);
  else await rm(s.stateDir, { recursive: true, force: true }).catch(() => undefined);
  return report;
}
