import { strict as assert } from 'node:assert';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { layoutLineage } from '../../src/core/views/lineage-layout';
import { tcoInputsFromForm } from '../../src/core/tco/form';
import { computeTco } from '../../src/core/tco/tco';
import type { TcoForm } from '../../webview/tco/contract';
import { lineageDrawMs, skipLoudly, startWebviewHarness, type HarnessGlobals, type OpenedView, type WebviewHarness } from './chromium-harness';
import { generateLineage } from './lineage-fixture';

/**
 * Each view in a real Chromium under the real CSP (the shell the host serves), fed the state the host
 * would send, with VS Code's dark theme variables. Fails on any CSP violation or script error; saves a
 * screenshot per view to test-results/screenshots/ (kept as CI artifacts). Skipped without Chromium.
 */
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');

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
      { model: 'coder', version: '1.1.0', role: 'stable', state: 'running', running: true, container: 'sovereign-coder-1.1.0', image: 'sovereign-app:abc', created: '2025-03-01', url: 'http://127.0.0.1:49153', health: 'up', healthMs: 3, availability: { up: 12, probes: 12 }, metrics: { requests: 420, requestsPerSecond: 1.5, errors: 0, latencyP50Ms: 35, latencyP95Ms: 120, ttftP50Ms: 9, tokensPerSecondP50: 240, inFlight: 1, queueDepth: 0, rssBytes: 300 * 2 ** 20, modelLoadSeconds: 0.4, engineRestarts: 0, drift: { features: [{ name: 'amount_log', psi: 0.41, threshold: 0.2 }, { name: 'foreign', psi: 0.02, threshold: 0.2 }], predictionPsi: 0.05, windowRows: 1000 }, promptDrift: { features: [{ name: 'prompt_chars', psi: 0.05, threshold: 0.2 }, { name: 'script', psi: 0.93, threshold: 0.2 }], windowRows: 80 } } },
      { model: 'coder', version: '1.0.0', role: 'previous', state: 'exited', running: false, container: 'sovereign-coder-1.0.0', image: 'sovereign-app:abd', created: '2025-02-20', health: 'stopped' },
    ] },
    tco: { kind: 'models', models: [{ ref: 'coder@1.1.0', throughput: TCO_THROUGHPUT }, { ref: 'coder@1.0.0', problem: 'no stored benchmark of coder@1.0.0 has pp and tg results' }] },
  };
}

const TCO_THROUGHPUT = { inputTokensPerSecond: 640, outputTokensPerSecond: 140, source: '.sovereign/benchmarks/coder/1.1.0/x.json (load test, 4 clients)' };

/**
 * The fake host's side of the TCO view: answers the view's `compute` requests not answered yet with the
 * real computation (computeTco, as the panel does), and returns the forms it was asked about.
 */
async function answerTco(page: Page, answered: Set<number>): Promise<TcoForm[]> {
  const requests = await page.evaluate(() => (globalThis as unknown as { __sent: { kind: string; id?: number; method?: string; params?: unknown }[] }).__sent.filter((m) => m.kind === 'request' && m.method === 'compute'));
  const forms: TcoForm[] = [];
  for (const r of requests) {
    if (answered.has(r.id!)) continue;
    answered.add(r.id!);
    const form = r.params as TcoForm;
    forms.push(form);
    const response = { kind: 'response', id: r.id, ok: true, result: { ok: true, figures: computeTco(tcoInputsFromForm(form, TCO_THROUGHPUT)) } };
    await page.evaluate((data) => (globalThis as unknown as { dispatchEvent(e: unknown): boolean }).dispatchEvent(new MessageEvent('message', { data })), response as never);
  }
  return forms;
}

describe('webviews in Chromium under the strict CSP', function () {
  this.timeout(120_000);
  let harness: WebviewHarness | undefined;

  before(async function () {
    harness = await startWebviewHarness();
    if (!harness) return skipLoudly(this, 'test/webview/browser.test.ts');
    await mkdir(SHOTS, { recursive: true });
  });
  after(async () => harness?.close());

  const open = (view: string, lineageSize?: number): Promise<OpenedView> => harness!.open(view, states(lineageSize)[view]);

  async function finish(page: Page, view: string, errors: string[]): Promise<void> {
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, `${view}.png`), fullPage: false });
    const csp = await page.evaluate(() => (globalThis as unknown as HarnessGlobals).__csp);
    assert.deepEqual(csp, [], 'CSP violations');
    assert.deepEqual(errors, []);
    await page.close();
  }

  it('lineage: draws the nodes on and near the screen as SVG; a dataset click highlights its models; a model click asks for its manifest', async () => {
    const { page, errors } = await open('lineage');
    await page.waitForSelector('svg.lineage');
    // The panel shows the top of the graph: every node there is drawn, with its label.
    const layout = layoutLineage(generateLineage(120));
    const top = layout.nodes.filter((n) => n.y < 400);
    for (const n of top) assert.equal(await page.locator(`svg.lineage g.node[data-id="${n.id}"] text.label`).count(), 1, n.id);
    const count = await page.locator('svg.lineage g.node').count();
    assert.ok(count >= top.length && count <= 120, `${count} nodes drawn`);
    await page.locator('svg.lineage g.kind-dataset').first().click();
    assert.ok((await page.locator('svg.lineage g.node.highlighted').count()) > 1);
    assert.match(await page.locator('#details').innerText(), /Models that used this dataset \(\d+\)/);
    await page.locator('svg.lineage g.kind-model').first().click();
    await page.locator('#details vscode-button').click();
    const requests = await page.evaluate(() => (globalThis as unknown as { __sent: { kind: string; method?: string }[] }).__sent.filter((m) => m.kind === 'request'));
    assert.equal(requests.at(-1)?.method, 'openManifest');
    await finish(page, 'lineage', errors);
  });

  it('lineage: 2,000 nodes drawn as SVG in Chromium, labels only near the screen (draw time reported; the < 300 ms goal is a benchmark figure)', async () => {
    const { page, errors } = await open('lineage', 2000);
    await page.waitForSelector('svg.lineage');
    const ms = await lineageDrawMs(page);
    // The view measures its own draw, from the state's arrival to the painted frame.
    process.stderr.write(`      lineage 2,000 nodes drawn in ${ms} ms (Chromium)\n`);
    // Not a timed test: the goal (< 300 ms) is measured by `npm run bench webview` on a quiet machine. This
    // bound only catches a draw that went quadratic, with room for a loaded CI machine.
    assert.ok(ms < 1000, `${ms} ms`);
    // What is on screen and a few screens around it is drawn, not all 2,000; scrolling draws the rest.
    const drawn = await page.locator('svg.lineage g.node').count();
    assert.ok(drawn > 0 && drawn < 2000, `${drawn} nodes drawn`);
    const lowest = layoutLineage(generateLineage(2000)).nodes.reduce((a, b) => (b.y > a.y ? b : a));
    const last = page.locator(`svg.lineage g.node[data-id="${lowest.id}"]`);
    assert.equal(await last.count(), 0);
    await page.locator('#canvas').evaluate((c) => ((c as unknown as { scrollTop: number }).scrollTop = 1e9));
    await last.locator('text.label').waitFor();
    // At overview scale (zoomed out below readable size) no label is drawn, and the view says so.
    for (let i = 0; i < 4; i++) await page.getByTitle('Zoom out').click();
    await page.locator('#stats', { hasText: /zoom in for labels/ }).waitFor();
    assert.equal(await page.locator('svg.lineage text.label').count(), 0);
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

  it('tco: the figures the host computes, the cost-against-volume chart, and a changed input recomputes', async () => {
    const { page, errors } = await open('tco');
    const answered = new Set<number>();
    await page.waitForFunction(() => (globalThis as unknown as HarnessGlobals).__sent.some((m) => m.method === 'compute'));
    const [first] = await answerTco(page, answered);
    assert.equal(first.model, 'coder@1.1.0', 'the model with a usable benchmark is chosen');
    const expected = computeTco(tcoInputsFromForm(first, TCO_THROUGHPUT));
    await page.waitForSelector('table.tco-figures');
    const money = (v: number): string => v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    assert.equal(await page.locator('tr[data-row="monthly"] td.self').innerText(), `${money(expected.selfHosted.monthly)} USD`);
    assert.equal(await page.locator('tr[data-row="monthly"] td.api').innerText(), `${money(expected.api.monthly)} USD`);
    assert.equal(await page.locator('tr[data-row="yearly"] td.api').innerText(), `${money(expected.api.yearly)} USD`);
    assert.match(await page.locator('#machines').innerText(), new RegExp(`^Machines: ${expected.machines} `));
    assert.match(await page.locator('#break-even').innerText(), /Break-even: /);
    assert.match(await page.locator('#utilisation').innerText(), /gap/);
    assert.match(await page.locator('#throughput').innerText(), /640 input tok\/s, 140 output tok\/s/);
    // the chart: Chart.js drew the curve of both, one point per volume of the result's curve
    type Canvas = { width: number; height: number; getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
    const painted = await page.locator('canvas#curve').evaluate((el) => {
      const canvas = el as unknown as Canvas;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
      return n;
    });
    assert.ok(painted > 500, `the chart is painted (${painted} pixels)`);
    // a changed input: a new computation with the new volume, and the figures follow
    await page.fill('#in-requestsPerDay', '200000');
    await page.waitForFunction(() => (globalThis as unknown as HarnessGlobals).__sent.filter((m) => m.method === 'compute').length >= 2);
    const next = (await answerTco(page, answered)).at(-1)!;
    assert.equal(next.requestsPerDay, 200000);
    const again = computeTco(tcoInputsFromForm(next, TCO_THROUGHPUT));
    assert.notEqual(again.api.monthly, expected.api.monthly);
    await page.locator('tr[data-row="monthly"] td.api', { hasText: `${money(again.api.monthly)} USD` }).waitFor();
    assert.equal(await page.locator('tr[data-row="monthly"] td.self').innerText(), `${money(again.selfHosted.monthly)} USD`);
    assert.match(await page.locator('#machines').innerText(), new RegExp(`^Machines: ${again.machines} `));
    assert.ok(again.machines > expected.machines, 'the larger volume needs more machines');
    // switching the hardware to rented shows the hourly price and recomputes with it
    await page.selectOption('#in-pricing', 'hourly');
    await page.waitForSelector('#in-hourlyPrice');
    await page.waitForFunction(() => (globalThis as unknown as HarnessGlobals).__sent.filter((m) => m.method === 'compute').length >= 3);
    const hourly = (await answerTco(page, answered)).at(-1)!;
    assert.equal(hourly.pricing, 'hourly');
    const saved = await page.evaluate(() => (globalThis as unknown as HarnessGlobals).__saved as TcoForm);
    assert.equal(saved.requestsPerDay, 200000, 'the form is kept with setState');
    await finish(page, 'tco', errors);
  });

  it('deployments: what runs where, health and live metrics', async () => {
    const { page, errors } = await open('deployments');
    await page.waitForSelector('table.deployments');
    assert.equal(await page.locator('table.deployments tbody tr').count(), 2);
    assert.match(await page.locator('table.deployments').innerText(), /p50 35\.0 ms/);
    // drift per feature: a bar each (and the prediction), the drifted one marked, the threshold ticks drawn
    // and a language model's prompt drift per summary beside it (2 more bars, the script summary drifted)
    assert.equal(await page.locator('svg.drift-chart rect.drift-bar').count(), 5);
    assert.equal(await page.locator('svg.drift-chart rect.drifted').count(), 2);
    assert.equal(await page.locator('svg.drift-chart line.drift-threshold').count(), 5);
    assert.equal(await page.locator('span.drift', { hasText: 'prompt drift (PSI, 80 prompts)' }).count(), 1);
    await finish(page, 'deployments', errors);
  });
});
