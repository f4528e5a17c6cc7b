/**
 * Runs the extension-host mocha suite (out/test/extension/index.js) INSIDE code-server's real extension
 * host. The same suite runs in desktop VS Code through @vscode/test-cli (.vscode-test.mjs): one suite,
 * two launchers.
 *
 * How: the workbench page calls `window.codeAutomationLog(level, parts)` with its console (the extension
 * host's console, mocha's reporter included, is forwarded to it) and
 * `window.codeAutomationExit(code)` when the suite ends (the smoke-test driver protocol); we expose
 * both functions before the page loads.
 */
import { join } from 'node:path';
import { format } from 'node:util';
import type { BrowserContext } from 'playwright-core';
import { workbenchUrl } from './workbench-url';

export interface ExtensionHostRunOptions {
  context: BrowserContext;
  origin: string;
  repoRoot: string;
  /** The folder to open, or a `.code-workspace` file (multi-root). */
  workspace: string;
  /** The suite's entry module; default out/test/extension/index.js (the single-folder suite). */
  testsPath?: string;
  /** Written to stdout as it comes; default: process.stdout. */
  write?: (text: string) => void;
  timeoutMs?: number;
  /** Screenshot of the test window at the end (pass or fail). */
  screenshotPath?: string;
}

export async function runExtensionHostSuite(options: ExtensionHostRunOptions): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const page = await options.context.newPage();
  let finish: (code: number) => void = () => undefined;
  const exited = new Promise<number>((done) => (finish = done));
  // The workbench's console logger: (level, message parts). The extension host's console (mocha's
  // reporter) arrives here too.
  await page.exposeFunction('codeAutomationLog', (level: unknown, parts: unknown) => write(`${formatLogLine(level, parts)}\n`));
  await page.exposeFunction('codeAutomationExit', (code: unknown) => finish(Number(code)));
  const url = workbenchUrl({
    origin: options.origin,
    ...(options.workspace.endsWith('.code-workspace') ? { workspace: options.workspace } : { folder: options.workspace }),
    extensionDevelopmentPath: options.repoRoot,
    extensionTestsPath: options.testsPath ?? join(options.repoRoot, 'out', 'test', 'extension', 'index.js'),
  });
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 120_000 });
  const timeoutMs = options.timeoutMs ?? 180_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<number>((done) => {
    timer = setTimeout(() => {
      write(`extension-host suite: no result within ${timeoutMs / 1000} s\n`);
      done(124);
    }, timeoutMs);
  });
  try {
    return await Promise.race([exited, timedOut]);
  } finally {
    clearTimeout(timer);
    if (options.screenshotPath) await page.screenshot({ path: options.screenshotPath }).catch(() => undefined);
    await page.close().catch(() => undefined);
  }
}

function formatLogLine(level: unknown, parts: unknown): string {
  // Console calls arrive as printf-style parts (mocha's reporter writes `%s%s`, `%d passing`...).
  const text = Array.isArray(parts) ? format(...(parts as unknown[])) : String(parts);
  return level === 'info' || level === undefined ? text : `[${String(level)}] ${text}`;
}
