import { strict as assert } from 'node:assert';
import { skipLoudly, startWebviewHarness, type HarnessGlobals, type WebviewHarness } from './chromium-harness';

/**
 * "SVG" on a benchmark chart, in a real Chromium under the real CSP: the view draws the chart once more
 * with Chart.js onto svgcanvas and sends the host a vector SVG (text as <text>, bars as shapes, the
 * theme's resolved colours), through the same `saveFile` request as PNG and CSV. Skipped without Chromium.
 */
const run = (version: string, createdAt: string, tg: number | undefined) => ({
  id: `.sovereign/benchmarks/coder/${version}/${createdAt}.json`, model: 'coder', version, createdAt,
  report: {
    schema: 'sovereign.bench/v1', createdAt,
    results: { coldLoadMs: 120, modelLoadMs: 50, ttftMs: { mean: 9, stddev: 1, n: 5 }, pp: { tokens: 512, tokensPerSecond: { mean: 640, stddev: 20, n: 5 } }, ...(tg === undefined ? {} : { tg: { tokens: 128, tokensPerSecond: { mean: tg, stddev: 6, n: 5 } } }) },
  },
});
// Three runs; the third has no generation figure, so the throughput chart has 3 pp bars and 2 tg bars.
const STATE = { kind: 'runs', runs: [run('1.0.0', '2025-01-01T10:00:00.000Z', 250), run('1.1.0', '2025-01-02T10:00:00.000Z', 290), run('1.2.0', '2025-01-03T10:00:00.000Z', undefined)], problems: [] };
const SAVED = { selected: STATE.runs.map((r) => r.id), mode: 'runs' };

/** The few DOM types the page-side code uses (the test program has no DOM lib). */
interface El { localName: string; namespaceURI: string | null; textContent: string | null; attributes: ArrayLike<{ name: string; value: string }>; getAttribute(name: string): string | null; closest(selector: string): El | null }
interface XmlDoc { documentElement: El; querySelector(selector: string): El | null; querySelectorAll(selector: string): ArrayLike<El> }
type PageGlobals = { DOMParser: new () => { parseFromString(text: string, type: string): XmlDoc } };

interface SaveFile { kind: string; method?: string; params?: { suggestedName: string; kind: string; text?: string; base64?: string } }

describe('benchmark view: a chart exported as SVG (Chromium, strict CSP)', function () {
  this.timeout(120_000);
  let harness: WebviewHarness | undefined;

  before(async function () {
    harness = await startWebviewHarness();
    if (!harness) return skipLoudly(this, 'test/webview/benchmarks-svg.test.ts');
  });
  after(async () => harness?.close());

  it('sends a well-formed vector SVG with the title, axis and legend labels as <text>, one shape per bar, theme colours, no bitmap, no CSP violation', async () => {
    const { page, errors } = await harness!.open('benchmarks', STATE, SAVED);
    await page.waitForSelector('.chart-card[data-chart="throughput"] canvas');
    await page.locator('.chart-card[data-chart="throughput"] vscode-button', { hasText: 'SVG' }).click();
    await page.waitForFunction(() => (globalThis as unknown as HarnessGlobals).__sent.some((m) => m.method === 'saveFile'));
    const sent = (await page.evaluate(() => (globalThis as unknown as HarnessGlobals).__sent.filter((m) => m.method === 'saveFile'))) as SaveFile[];
    assert.equal(sent.length, 1);
    const params = sent[0].params!;
    assert.equal(params.kind, 'svg');
    assert.equal(params.suggestedName, 'benchmarks-throughput-3-runs.svg');
    assert.equal(params.base64, undefined);
    const svg = params.text!;
    assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg /);

    // Parsed by Chromium's XML parser: well-formed, an <svg> root of the chart's size.
    const parsed = await page.evaluate((text) => {
      const doc = new (globalThis as unknown as PageGlobals).DOMParser().parseFromString(text, 'image/svg+xml');
      const root = doc.documentElement;
      const all = Array.from(doc.querySelectorAll('*'));
      return {
        error: doc.querySelector('parsererror')?.textContent ?? null,
        root: root.localName,
        ns: root.namespaceURI,
        size: [Number(root.getAttribute('width')), Number(root.getAttribute('height'))],
        texts: Array.from(doc.querySelectorAll('text')).map((t) => ({ text: t.textContent, fill: t.getAttribute('fill'), font: t.getAttribute('font-family'), size: t.getAttribute('font-size') })),
        // Filled shapes by colour (bars, legend boxes, the background).
        fills: all.filter((e) => ['path', 'rect'].includes(e.localName) && e.closest('defs') === null && (e.getAttribute('fill') ?? 'none') !== 'none').map((e) => e.getAttribute('fill')),
        tags: [...new Set(all.map((e) => e.localName))],
        attrs: all.flatMap((e) => Array.from(e.attributes).map((a) => `${a.name}=${a.value}`)),
      };
    }, svg);
    assert.equal(parsed.error, null, 'the SVG is well-formed XML');
    assert.equal(parsed.root, 'svg');
    assert.equal(parsed.ns, 'http://www.w3.org/2000/svg');
    const screen = (await page.locator('.chart-card[data-chart="throughput"] canvas').boundingBox())!;
    assert.deepEqual(parsed.size, [Math.round(screen.width), Math.round(screen.height)], 'drawn at the chart\'s size on screen');

    // Text is text: the title, the y axis title, the legend, the run labels and the ticks.
    const texts = parsed.texts.map((t) => t.text);
    for (const label of ['Throughput: prompt processing (pp) and generation (tg)', 'tokens/s', 'pp tokens/s', 'tg tokens/s', 'coder@1.0.0 · 2025-01-01 10:00', 'coder@1.2.0 · 2025-01-03 10:00', '0']) assert.ok(texts.includes(label), `<text>${label}</text> in ${JSON.stringify(texts)}`);
    // In the theme's foreground, with the font Chart.js drew with (parsed without an inline style).
    for (const t of parsed.texts) {
      assert.equal(t.fill, '#cccccc', `${t.text} fill`);
      assert.match(t.font ?? '', /sans-serif/, `${t.text} font-family`);
      assert.equal(t.size, '12px', `${t.text} font-size`);
    }

    // Bars are vector shapes in the theme's chart colours: one per data point, plus the dataset's legend box.
    const count = (colour: string): number => parsed.fills.filter((f) => f === colour).length;
    assert.equal(count('#3794ff'), 3 + 1, 'pp: 3 bars + legend box (--vscode-charts-blue)');
    assert.equal(count('#d18616'), 2 + 1, 'tg: 2 bars (one run has none) + legend box (--vscode-charts-orange)');
    assert.equal(count('#1e1e1e'), 1, 'one opaque background in --vscode-editor-background');

    // Vector only, and nothing that means nothing outside VS Code.
    assert.ok(!parsed.tags.includes('image'), `no <image>: ${parsed.tags}`);
    assert.ok(!parsed.tags.includes('foreignObject'));
    assert.ok(!/base64|data:image/.test(svg), 'no embedded bitmap');
    assert.deepEqual(parsed.attrs.filter((a) => /var\(--|undefined|NaN/.test(a) || a.startsWith('style=')), []);

    // The chart on screen is still there and the view still works; no CSP violation, no script error.
    assert.equal(await page.locator('.chart-card canvas').count(), 3);
    assert.deepEqual(await page.evaluate(() => (globalThis as unknown as HarnessGlobals).__csp), [], 'CSP violations');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
