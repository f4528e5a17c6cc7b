import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { webviewHtml } from '../../src/extension/webviews/html';
import { layoutLineage } from '../../webview/lineage/layout';
import { READY } from '../../webview/shared/ipc';
import { generateLineage } from './lineage-fixture';

/**
 * Each view in a real Chromium under the real CSP (the shell the host serves), fed the state the host
 * would send, with VS Code's dark theme variables. Fails on any CSP violation or script error; saves a
 * screenshot per view to test-results/screenshots/ (kept as CI artifacts). Skipped without Chromium.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');

const THEME = `body.vscode-dark {
  --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-editor-background: #1e1e1e;
  --vscode-editorWidget-background: #252526; --vscode-editorWidget-border: #454545; --vscode-focusBorder: #007fd4;
  --vscode-font-family: sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: monospace;
  --vscode-textLink-foreground: #3794ff; --vscode-errorForeground: #f48771; --vscode-editorWarning-foreground: #cca700;
  --vscode-charts-blue: #3794ff; --vscode-charts-green: #89d185; --vscode-charts-red: #f14c4c; --vscode-charts-yellow: #cca700;
  --vscode-charts-orange: #d18616; --vscode-charts-purple: #b180d7; --vscode-list-activeSelectionBackground: #04395e;
  --vscode-button-background: #0e639c; --vscode-button-foreground: #ffffff; --vscode-input-background: #3c3c3c; --vscode-input-foreground: #cccccc;
}`;

function states(lineageSize = 120): Record<string, unknown> {
  const graph = generateLineage(lineageSize);
  const layout = layoutLineage(graph);
  const run = (version: string, createdAt: string, tg: number) => ({
    id: `.sovereign/benchmarks/coder/${version}/${createdAt}.json`, model: 'coder', version, createdAt,
    report: { schema: 'sovereign.bench/v1', createdAt, machine: { cpuModel: 'Test CPU', physicalCores: 2 }, engine: { threads: 1 }, results: { coldLoadMs: 120, modelLoadMs: 50, ttftMs: { mean: 9, stddev: 1, n: 5 }, pp: { tokens: 512, tokensPerSecond: { mean: 640, stddev: 20, n: 5 } }, tg: { tokens: 128, tokensPerSecond: { mean: tg, stddev: 6, n: 5 } }, load: { clients: 4, requests: 90, errors: 0, errorRate: 0, requestsPerSecond: 9, completionTokensPerSecond: 140, latencyMs: { p50: 80, p95: 130, p99: 170 } } } },
  });
  const row = (model: string, rule: string, severity: string) => ({ rule, severity, message: `${rule} fails for ${model}`, fix: 'do the thing', file: `.sovereign/models/${model}/1.0.0.yaml`, line: 4, model, version: '1.0.0', canSign: rule === 'signature-required', canRequestException: true });
  return {
    lineage: { kind: 'graph', update: { graph, layout } },
    benchmarks: { kind: 'runs', runs: [run('1.0.0', '2025-01-01T10:00:00.000Z', 250), run('1.1.0', '2025-01-02T10:00:00.000Z', 290)], problems: [] },
    policy: { kind: 'report', violations: [row('coder', 'signature-required', 'error'), row('coder', 'license', 'warning'), row('embed', 'source', 'warning')], waived: [{ ...row('legacy', 'license', 'warning'), justification: 'internal evaluation only', expires: '2025-03-10', exceptionFor: 'legacy' }], problems: [], policyFile: '.sovereign/policy.yaml', policyExists: true, today: '2025-03-01' },
    deployments: { kind: 'list', polledAt: '2025-03-01T10:00:00.000Z', intervalMs: 10000, rows: [
      { model: 'coder', version: '1.1.0', role: 'stable', state: 'running', running: true, container: 'sovereign-coder-1.1.0', image: 'sovereign-app:abc', created: '2025-03-01', url: 'http://127.0.0.1:49153', health: 'up', healthMs: 3, availability: { up: 12, probes: 12 }, metrics: { requests: 420, requestsPerSecond: 1.5, errors: 0, latencyP50Ms: 35, latencyP95Ms: 120, ttftP50Ms: 9, tokensPerSecondP50: 240, inFlight: 1, queueDepth: 0, rssBytes: 300 * 2 ** 20, modelLoadSeconds: 0.4, engineRestarts: 0 } },
      { model: 'coder', version: '1.0.0', role: 'previous', state: 'exited', running: false, container: 'sovereign-coder-1.0.0', image: 'sovereign-app:abd', created: '2025-02-20', health: 'stopped' },
    ] },
  };
}

describe('webviews in Chromium under the strict CSP', function () {
  this.timeout(120_000);
  let server: Server;
  let browser: Browser;
  let dir: string;
  let origin: string;
  const nonce = 'dGVzdC1ub25jZS1mb3ItY3Nw';

  before(async function () {
    if (!existsSync(CHROMIUM)) return this.skip();
    dir = await mkdtemp(join(tmpdir(), 'sovereign-webview-browser-'));
    await build({ entryPoints: ['lineage', 'benchmarks', 'policy', 'deployments'].map((v) => ({ in: `webview/${v}/main.ts`, out: v })), outdir: dir, bundle: true, platform: 'browser', format: 'iife', target: 'chrome114', logLevel: 'silent' });
    server = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', origin);
      const view = /^\/view\/(\w+)$/.exec(url.pathname)?.[1];
      try {
        if (view) {
          const html = webviewHtml({ title: view, cspSource: origin, nonce, scriptUri: `${origin}/dist/${view}.js`, styleUris: [`${origin}/media/theme.css`, `${origin}/media/common.css`, `${origin}/media/${view}.css`] })
            // what VS Code provides around a webview: the theme class and acquireVsCodeApi
            .replace('<body>', '<body class="vscode-dark">')
            .replace('<script nonce', `<script nonce="${nonce}">window.__sent=[];let s;window.acquireVsCodeApi=()=>({postMessage:(m)=>window.__sent.push(m),getState:()=>s,setState:(v)=>{s=v}});window.__csp=[];document.addEventListener('securitypolicyviolation',(e)=>window.__csp.push(e.violatedDirective+' '+e.blockedURI));</script>\n    <script nonce`);
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
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'] });
    await mkdir(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function open(view: string, lineageSize?: number): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${origin}/view/${view}`);
    // the ready handshake: nothing is sent to the view before it says ready
    await page.waitForFunction((ready) => (globalThis as unknown as { __sent: { method?: string }[] }).__sent.some((m) => m.method === ready), READY);
    const state = states(lineageSize)[view];
    await page.evaluate((params) => (globalThis as unknown as { dispatchEvent(e: unknown): boolean }).dispatchEvent(new MessageEvent('message', { data: { kind: 'notification', method: 'state', params } })), state);
    return { page, errors };
  }

  async function finish(page: Page, view: string, errors: string[]): Promise<void> {
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, `${view}.png`), fullPage: false });
    const csp = await page.evaluate(() => (globalThis as unknown as { __csp: string[] }).__csp);
    assert.deepEqual(csp, [], 'CSP violations');
    assert.deepEqual(errors, []);
    await page.close();
  }

  it('lineage: draws every node as SVG; a dataset click highlights its models; a model click asks for its manifest', async () => {
    const { page, errors } = await open('lineage');
    await page.waitForSelector('svg.lineage');
    const count = await page.locator('svg.lineage g.node').count();
    assert.equal(count, 120);
    await page.locator('svg.lineage g.kind-dataset').first().click();
    assert.ok((await page.locator('svg.lineage g.node.highlighted').count()) > 1);
    assert.match(await page.locator('#details').innerText(), /Models that used this dataset \(\d+\)/);
    await page.locator('svg.lineage g.kind-model').first().click();
    await page.locator('#details vscode-button').click();
    const requests = await page.evaluate(() => (globalThis as unknown as { __sent: { kind: string; method?: string }[] }).__sent.filter((m) => m.kind === 'request'));
    assert.equal(requests.at(-1)?.method, 'openManifest');
    await finish(page, 'lineage', errors);
  });

  it('lineage: 2,000 nodes drawn as SVG built and parsed by Chromium (draw time reported; the < 300 ms goal is a benchmark figure)', async () => {
    const { page, errors } = await open('lineage', 2000);
    await page.waitForSelector('svg.lineage');
    assert.equal(await page.locator('svg.lineage g.node').count(), 2000);
    const ms = Number(/drawn in (\d+) ms/.exec(await page.locator('#stats').innerText())?.[1]);
    // The view measures its own draw (filter + highlight + SVG string + DOM parse); paint comes after.
    process.stderr.write(`      lineage 2,000 nodes drawn in ${ms} ms (Chromium)\n`);
    // Not a timed test: the goal (< 300 ms) is measured by `npm run bench webview` on a quiet machine. This
    // bound only catches a draw that went quadratic, with room for a loaded CI machine.
    assert.ok(ms < 1000, `${ms} ms`);
    await finish(page, 'lineage-2000', errors);
  });

  it('benchmarks: Chart.js charts for the selected runs, with export buttons', async () => {
    const { page, errors } = await open('benchmarks');
    await page.waitForSelector('canvas');
    assert.equal(await page.locator('.chart-card').count(), 4);
    assert.equal(await page.locator('vscode-checkbox').count(), 2);
    await finish(page, 'benchmarks', errors);
  });

  it('policy: violations grouped by model with quick-fix buttons and exceptions by expiry', async () => {
    const { page, errors } = await open('policy');
    await page.waitForSelector('vscode-collapsible');
    assert.equal(await page.locator('vscode-collapsible').count(), 2);
    assert.equal(await page.getByText('Sign now').count(), 1);
    assert.match(await page.locator('table.exceptions').innerText(), /9 d left/);
    await page.getByText('Sign now').click();
    const last = await page.evaluate(() => (globalThis as unknown as { __sent: { kind: string; method?: string; params?: unknown }[] }).__sent.filter((m) => m.kind === 'request').at(-1));
    assert.deepEqual(last?.params, { model: 'coder', version: '1.0.0' });
    await finish(page, 'policy', errors);
  });

  it('deployments: what runs where, health and live metrics', async () => {
    const { page, errors } = await open('deployments');
    await page.waitForSelector('table.deployments');
    assert.equal(await page.locator('table.deployments tbody tr').count(), 2);
    assert.match(await page.locator('table.deployments').innerText(), /p50 35\.0 ms/);
    await finish(page, 'deployments', errors);
  });
});
