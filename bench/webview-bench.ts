/**
 * Lineage view at 2,000 nodes: what the person waits for when the view opens (render: SVG of the laid-out
 * graph, filter and dataset highlight), and the layout that precedes it (dagre per model family, in the
 * core worker; cold = empty cache, warm = the registry changed one family, the usual case).
 * Reference in the same run: 500 nodes, to show how the cost grows.
 */
import { clearLayoutCache, layoutLineage } from '../src/core/views/lineage-layout';
import { filterMatches, highlightSet } from '../webview/lineage/model';
import { renderLineageSvg } from '../webview/lineage/svg';
import { lineageDrawMs, startWebviewHarness } from '../test/webview/chromium-harness';
import { generateLineage } from '../test/webview/lineage-fixture';
import { runIfMain } from './util';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

async function measure(size: number): Promise<Record<string, unknown>> {
  const graph = generateLineage(size);
  clearLayoutCache();
  const cold = time(() => layoutLineage(graph));
  // One family changes (a new quantization registered): only that family is laid out again.
  const changed = structuredClone(graph);
  const target = changed.nodes.find((n) => n.kind === 'model')!;
  changed.nodes.push({ id: `model:${target.name}-new@9.9.9`, kind: 'model', label: `${target.name}-new@9.9.9`, name: `${target.name}-new`, version: '9.9.9', aliases: [], status: { scan: 'pass', signed: true, violations: 0 } });
  changed.edges.push({ from: target.id, to: `model:${target.name}-new@9.9.9`, kind: 'quantize' });
  const warm = time(() => layoutLineage(changed));
  const layout = cold.value;
  const dataset = graph.nodes.find((n) => n.kind === 'dataset')!.id;
  const render: number[] = [];
  const interact: number[] = [];
  let svgBytes = 0;
  for (let i = 0; i < 7; i++) {
    render.push(time(() => (svgBytes = renderLineageSvg(graph, layout).length)).ms);
    // a dataset selected + a filter typed: the whole view is rebuilt with dim/highlight classes
    interact.push(time(() => renderLineageSvg(graph, layout, { visible: filterMatches(graph, 'ft1'), highlighted: highlightSet(graph, dataset), selected: dataset })).ms);
  }
  return {
    nodes: graph.nodes.length,
    edges: graph.edges.length,
    families: layout.stats.families,
    layoutColdMs: Math.round(cold.ms),
    layoutOneFamilyChangedMs: Math.round(warm.ms),
    familiesFromCache: warm.value.stats.familiesFromCache,
    renderSvgMs: +median(render).toFixed(1),
    filterHighlightRenderMs: +median(interact).toFixed(1),
    svgKiB: Math.round(svgBytes / 1024),
  };
}

/**
 * The view's own draw in Chromium as it reports it in its status line: filter, highlight, SVG string,
 * DOM parse, style, layout and paint, until the frame is on screen; the laid-out graph handed over as the
 * host does; median of several fresh documents.
 */
async function chromiumDraw(sizes: number[], runs = 5): Promise<Record<string, number> | { skipped: string }> {
  const harness = await startWebviewHarness();
  if (!harness) return { skipped: 'Chromium is not installed (apt-get install chromium)' };
  try {
    const out: Record<string, number> = {};
    for (const size of sizes) {
      const graph = generateLineage(size);
      const state = { kind: 'graph', update: { graph, layout: layoutLineage(graph) } };
      const drawn: number[] = [];
      for (let i = 0; i < runs; i++) {
        const { page } = await harness.open('lineage', state);
        await page.waitForSelector('svg.lineage');
        drawn.push(await lineageDrawMs(page));
        await page.close();
      }
      out[`drawMs${size}`] = median(drawn);
    }
    return out;
  } finally {
    await harness.close();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const small = await measure(500);
  const large = await measure(2000);
  const chromium = await chromiumDraw([500, 2000]);
  return {
    lineage500: small,
    lineage2000: large,
    chromium,
    // The figure the issue asks for: 2,000 nodes shown in < 300 ms (layout cached in the worker, as on
    // every refresh after the first, plus the draw in Chromium; the Node-side SVG build when no Chromium).
    render2000Under300ms:
      (large.layoutOneFamilyChangedMs as number) + ('drawMs2000' in chromium ? chromium.drawMs2000 : (large.renderSvgMs as number)) < 300,
  };
}

runIfMain(module, run);
