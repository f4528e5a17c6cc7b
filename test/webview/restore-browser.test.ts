import { strict as assert } from 'node:assert';
import type { Page } from 'playwright-core';
import { layoutLineage } from '../../src/core/views/lineage-layout';
import { skipLoudly, startWebviewHarness, WEBVIEWS, type HarnessGlobals, type OpenedView, type WebviewHarness } from './chromium-harness';
import { generateLineage } from './lineage-fixture';

/**
 * A panel restored after a window reload is a new document whose `getState()` returns what the previous
 * document saved with `setState` (VS Code keeps it with the editor). Here, in Chromium under the real CSP:
 * a view is used (filter, select, zoom, pick runs, collapse...), its saved state is read back, and a new
 * document of the view started with that state must show the same thing; a malformed saved state must
 * leave a working view. Skipped without Chromium (`CHROMIUM_PATH` overrides /usr/bin/chromium).
 */

function hostState(view: string): unknown {
  if (view === 'lineage') {
    const graph = generateLineage(60);
    return { kind: 'graph', update: { graph, layout: layoutLineage(graph) } };
  }
  if (view === 'benchmarks') {
    const run = (version: string, createdAt: string, tg: number) => ({
      id: `.sovereign/benchmarks/coder/${version}/${createdAt}.json`, model: 'coder', version, createdAt,
      report: { schema: 'sovereign.bench/v1', createdAt, machine: { cpuModel: 'Test CPU', physicalCores: 2 }, results: { tg: { tokens: 128, tokensPerSecond: { mean: tg, stddev: 6, n: 5 } } } },
    });
    return { kind: 'runs', runs: [run('1.0.0', '2025-01-01T10:00:00.000Z', 250), run('1.1.0', '2025-01-02T10:00:00.000Z', 290), run('1.1.0', '2025-01-03T10:00:00.000Z', 300)], problems: [] };
  }
  if (view === 'policy') {
    const row = (model: string, rule: string, severity: string) => ({ rule, severity, message: `${rule} fails for ${model}`, fix: 'do the thing', file: `.sovereign/models/${model}/1.0.0.yaml`, line: 4, model, version: '1.0.0', canSign: false, canRequestException: true });
    return { kind: 'report', violations: [row('coder', 'license', 'error'), row('embed', 'source', 'warning')], waived: [{ ...row('legacy', 'license', 'warning'), justification: 'evaluation only', expires: '2025-03-10', exceptionFor: 'legacy' }], problems: [], policyFile: '.sovereign/policy.yaml', policyExists: true, today: '2025-03-01' };
  }
  if (view === 'tco') return { kind: 'empty', message: 'No stored benchmark results to take the throughput from.' };
  return { kind: 'unavailable', reason: 'No Docker engine answers at unix:///var/run/docker.sock: ENOENT', hint: 'Start the engine.' };
}

describe('webviews restored from their saved state (window reload), in Chromium under the strict CSP', function () {
  this.timeout(120_000);
  let harness: WebviewHarness | undefined;

  before(async function () {
    harness = await startWebviewHarness('cmVzdG9yZS10ZXN0LW5vbmNl');
    if (!harness) return skipLoudly(this, 'test/webview/restore-browser.test.ts');
  });
  after(async () => harness?.close());

  type Opened = OpenedView;

  /** A document of the view, started with `saved` as its persisted state, handed the host's state after `ready`. */
  const open = (view: string, saved?: unknown): Promise<Opened> => harness!.open(view, hostState(view), saved);

  const savedState = (page: Page): Promise<Record<string, unknown>> => page.evaluate(() => (globalThis as unknown as HarnessGlobals).__saved as Record<string, unknown>);

  async function close({ page, errors }: Opened): Promise<void> {
    await page.waitForTimeout(100);
    assert.deepEqual(await page.evaluate(() => (globalThis as unknown as HarnessGlobals).__csp), [], 'CSP violations');
    assert.deepEqual(errors, []);
    await page.close();
  }

  it('lineage: filter, selection, zoom and scroll come back', async () => {
    const first = await open('lineage');
    const p = first.page;
    await p.waitForSelector('svg.lineage');
    await p.locator('#filter input').fill('corpus-1');
    const model = p.locator('svg.lineage g.kind-model').first();
    const id = await model.getAttribute('data-id');
    await model.click();
    await p.getByTitle('Zoom in').click();
    await p.getByTitle('Zoom in').click();
    await p.locator('#canvas').evaluate((c) => ((c as unknown as { scrollTop: number }).scrollTop = 40));
    await p.waitForTimeout(100);
    const saved = await savedState(p);
    assert.equal(saved.filter, 'corpus-1');
    assert.equal(saved.selected, id);
    assert.equal(saved.zoomedByUser, true);
    const width = await p.locator('svg.lineage').getAttribute('width');
    await close(first);

    const again = await open('lineage', saved);
    const q = again.page;
    await q.waitForSelector('svg.lineage');
    assert.equal(await q.locator('#filter').evaluate((f) => (f as unknown as { value: string }).value), 'corpus-1');
    assert.equal(await q.locator('svg.lineage g.node.selected').getAttribute('data-id'), id);
    assert.match(await q.locator('#details').innerText(), /Open manifest/);
    assert.equal(await q.locator('svg.lineage').getAttribute('width'), width, 'the zoom the user chose');
    assert.match(await q.locator('#stats').innerText(), /\d+ match/);
    assert.equal(await q.locator('#canvas').evaluate((c) => (c as unknown as { scrollTop: number }).scrollTop), saved.scrollTop);
    await close(again);
  });

  it('lineage: a selection whose node left the registry is dropped, the rest is kept', async () => {
    const opened = await open('lineage', { filter: '', selected: 'model:gone@9.9.9', zoom: 1, scrollLeft: 0, scrollTop: 0 });
    await opened.page.waitForSelector('svg.lineage');
    assert.equal(await opened.page.locator('svg.lineage g.node.selected').count(), 0);
    assert.equal((await savedState(opened.page)).selected, undefined);
    await close(opened);
  });

  it('benchmarks: the selected runs and the compare mode come back', async () => {
    const first = await open('benchmarks');
    const p = first.page;
    await p.waitForSelector('vscode-checkbox');
    // By default the latest run per version is selected: 1.0.0 and the newest 1.1.0. Add the older 1.1.0.
    await p.locator('vscode-checkbox[data-id$="2025-01-02T10:00:00.000Z.json"]').click();
    await p.locator('vscode-radio[value="latest-per-version"]').click();
    await p.waitForTimeout(100);
    const saved = await savedState(p);
    assert.equal((saved.selected as string[]).length, 3);
    assert.equal(saved.mode, 'latest-per-version');
    await close(first);

    const again = await open('benchmarks', saved);
    const q = again.page;
    await q.waitForSelector('vscode-checkbox');
    assert.equal(await q.locator('vscode-checkbox[checked]').count(), 3);
    assert.equal(await q.locator('vscode-radio[value="latest-per-version"]').evaluate((r) => (r as unknown as { checked: boolean }).checked), true);
    await close(again);
  });

  it('policy: collapsed groups and the exceptions toggle come back', async () => {
    const first = await open('policy');
    const p = first.page;
    await p.waitForSelector('vscode-collapsible');
    // Collapse the first group (by its header), hide the exceptions.
    const group = p.locator('vscode-collapsible').first();
    const key = await group.getAttribute('data-model');
    await group.locator('.collapsible-header, [part=header], .header').first().click();
    await p.getByText('Show exceptions').click();
    await p.waitForTimeout(100);
    const saved = await savedState(p);
    assert.deepEqual(saved.collapsed, [key]);
    assert.equal(saved.showWaived, false);
    await close(first);

    const again = await open('policy', saved);
    const q = again.page;
    await q.waitForSelector('vscode-collapsible');
    assert.equal(await q.locator(`vscode-collapsible[data-model="${key}"]`).evaluate((c) => (c as unknown as { open: boolean }).open), false);
    assert.equal(await q.locator('vscode-collapsible').nth(1).evaluate((c) => (c as unknown as { open: boolean }).open), true);
    assert.equal(await q.locator('table.exceptions').count(), 0);
    await close(again);
  });

  it('a malformed or foreign saved state leaves every view working with its defaults', async () => {
    const junk: Record<string, unknown> = {
      lineage: { filter: 5, selected: { id: 1 }, zoom: 'huge', zoomedByUser: 'yes', scrollLeft: 'x' },
      benchmarks: { selected: 'all', mode: 7 },
      policy: { collapsed: 'coder', showWaived: 'no' },
      deployments: ['not', 'a', 'state'],
      tco: { requestsPerDay: 'lots', pricing: 'free', utilisation: 7, currency: { x: 1 } },
    };
    for (const view of WEBVIEWS as Array<keyof typeof junk>) {
      for (const saved of [junk[view], 'a string', 42]) {
        const opened = await open(view, saved);
        const ready = { lineage: 'svg.lineage', benchmarks: 'canvas', policy: 'vscode-collapsible', deployments: '.empty-state', tco: '.empty-state' }[view]!;
        await opened.page.waitForSelector(ready);
        await close(opened);
      }
    }
  });
});
