import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Page } from 'playwright-core';
import { webviewHtml } from '../../src/extension/webviews/html';
import { READY } from '../../webview/shared/ipc';

/*
 * The webviews in a real Chromium under the real CSP, served from 127.0.0.1 the way VS Code serves them:
 * the host's HTML shell (nonce script, cspSource only), the browser bundles, the media styles, VS Code's
 * dark theme variables, and an `acquireVsCodeApi` whose messages are recorded and whose getState starts
 * with the state saved for the panel (what a restored panel gets). Used by the webview tests and by the
 * lineage benchmark (bench/webview-bench.ts).
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const WEBVIEWS = ['lineage', 'benchmarks', 'policy', 'deployments', 'tco'];
/** Every bundle the harness serves: the views above and the Playground (test/webview/playground.test.ts). */
export const HARNESS_BUNDLES = [...WEBVIEWS, 'playground'];

const THEME = `body.vscode-dark {
  --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-editor-background: #1e1e1e;
  --vscode-editorWidget-background: #252526; --vscode-editorWidget-border: #454545; --vscode-focusBorder: #007fd4;
  --vscode-font-family: sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: monospace;
  --vscode-textLink-foreground: #3794ff; --vscode-errorForeground: #f48771; --vscode-editorWarning-foreground: #cca700;
  --vscode-charts-blue: #3794ff; --vscode-charts-green: #89d185; --vscode-charts-red: #f14c4c; --vscode-charts-yellow: #cca700;
  --vscode-charts-orange: #d18616; --vscode-charts-purple: #b180d7; --vscode-list-activeSelectionBackground: #04395e;
  --vscode-button-background: #0e639c; --vscode-button-foreground: #ffffff; --vscode-input-background: #3c3c3c; --vscode-input-foreground: #cccccc;
}`;

/** What the page's shim records: messages the view sent, its saved state, CSP violations. */
export type HarnessGlobals = { __sent: Array<{ kind: string; method?: string }>; __saved: unknown; __csp: string[] };

export interface OpenedView {
  page: Page;
  /** Script errors and console errors of the page. */
  errors: string[];
}

export interface WebviewHarness {
  origin: string;
  /**
   * A new document of `view`, started with `saved` as its persisted state (a restored panel), handed
   * `hostState` as the host's `state` notification once it has said `ready`.
   */
  open(view: string, hostState: unknown, saved?: unknown): Promise<OpenedView>;
  close(): Promise<void>;
}

/** Skips a suite that needs Chromium, saying so where nobody can miss it (CI installs Chromium: it never skips there). */
export function skipLoudly(ctx: Mocha.Context, suite: string): void {
  process.stderr.write(`\n!!! SKIPPED ${suite}: Chromium is missing at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)\n`);
  if (process.env.CI) throw new Error(`${suite} needs Chromium at ${CHROMIUM}; CI installs it (.ci/run)`);
  ctx.skip();
}

/** The lineage view's own figure: from the state's arrival to the painted frame ("drawn in N ms"). */
export async function lineageDrawMs(page: Page): Promise<number> {
  await page.locator('#stats', { hasText: /drawn in \d+ ms/ }).waitFor();
  return Number(/drawn in (\d+) ms/.exec(await page.locator('#stats').innerText())?.[1]);
}

/** Builds the bundles, serves them and launches Chromium; undefined when Chromium is not installed. */
export async function startWebviewHarness(nonce = 'aGFybmVzcy1ub25jZS1mb3ItY3Nw'): Promise<WebviewHarness | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-webview-chromium-'));
  await build({ entryPoints: HARNESS_BUNDLES.map((v) => ({ in: `webview/${v}/main.ts`, out: v })), outdir: dir, bundle: true, platform: 'browser', format: 'iife', target: 'chrome114', logLevel: 'silent' });
  let origin = '';
  const shim =
    'window.__sent=[];window.__saved=window.__initialState;' +
    'window.acquireVsCodeApi=()=>({postMessage:(m)=>window.__sent.push(m),getState:()=>window.__saved,setState:(v)=>{window.__saved=JSON.parse(JSON.stringify(v))}});' +
    "window.__csp=[];document.addEventListener('securitypolicyviolation',(e)=>window.__csp.push(e.violatedDirective+' '+e.blockedURI));";
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const view = /^\/view\/(\w+)$/.exec(url.pathname)?.[1];
    try {
      if (view) {
        const html = webviewHtml({ title: view, cspSource: origin, nonce, scriptUri: `${origin}/dist/${view}.js`, styleUris: [`${origin}/media/theme.css`, `${origin}/media/common.css`, `${origin}/media/${view}.css`] })
          // What VS Code provides around a webview: the theme class and acquireVsCodeApi.
          .replace('<body>', '<body class="vscode-dark">')
          .replace('<script nonce', `<script nonce="${nonce}">${shim}</script>\n    <script nonce`);
        res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      } else if (url.pathname.startsWith('/dist/')) res.writeHead(200, { 'content-type': 'text/javascript' }).end(await readFile(join(dir, url.pathname.slice(6))));
      else if (url.pathname === '/media/theme.css') res.writeHead(200, { 'content-type': 'text/css' }).end(THEME);
      else if (url.pathname.startsWith('/media/')) res.writeHead(200, { 'content-type': 'text/css' }).end(await readFile(join('media', 'webview', url.pathname.slice(7))));
      else if (url.pathname === '/favicon.ico') res.writeHead(204).end();
      else res.writeHead(404).end();
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'] });
  return {
    origin,
    async open(view, hostState, saved) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      if (saved !== undefined) await page.addInitScript((s) => ((globalThis as unknown as { __initialState: unknown }).__initialState = s), saved as never);
      await page.goto(`${origin}/view/${view}`);
      // The ready handshake: nothing is sent to the view before it says ready.
      await page.waitForFunction((ready) => (globalThis as unknown as HarnessGlobals).__sent.some((m) => m.method === ready), READY);
      await page.evaluate((params) => (globalThis as unknown as { dispatchEvent(e: unknown): boolean }).dispatchEvent(new MessageEvent('message', { data: { kind: 'notification', method: 'state', params } })), hostState as never);
      return { page, errors };
    },
    async close() {
      await browser.close();
      await new Promise((r) => server.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
