/** Benchmark webview: Chart.js bar charts of the stored runs, side by side; PNG, SVG and CSV export. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Title, Tooltip, type ChartConfiguration, type ChartDataset, type Plugin } from 'chart.js';
import { connect, emptyState, h, loadState, reportError, saveState, sayReady } from '../shared/webview-api';
import { restoreBenchmarksViewState } from '../shared/view-state';
import type { BenchmarkRun, BenchmarksContract, BenchmarksState } from './contract';
import { chartSpecs, exportName, latestPerVersion, machineLine, runLabel, toCsv, type ChartSpec } from './data';
import { chartSvg } from './svg-export';

// Title: shown only in an exported SVG (a file needs its title; on screen the card's heading carries it).
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Title, Tooltip);

const rpc = connect<BenchmarksContract>();
const app = document.getElementById('app')!;
const view = loadState(restoreBenchmarksViewState);
let runs: BenchmarkRun[] = [];
const charts: Chart[] = [];

rpc.on('state', (state: BenchmarksState) => show(state));
sayReady(rpc);

/** Theme colours, read from VS Code's CSS variables (they change with the theme). */
function theme(): { palette: string[]; text: string; grid: string; background: string } {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  return {
    palette: ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'].map((n) => v(n, '#3794ff')),
    text: v('--vscode-foreground', '#cccccc'),
    grid: v('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)'),
    background: v('--vscode-editor-background', '#1e1e1e'),
  };
}

/** Error bars (one standard deviation) over each bar: Chart.js has none built in. */
const errorBars: Plugin<'bar'> = {
  id: 'sovereignErrorBars',
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.strokeStyle = theme().text;
    ctx.lineWidth = 1.2;
    chart.data.datasets.forEach((ds, i) => {
      const errors = (ds as { errors?: (number | null)[] }).errors;
      const meta = chart.getDatasetMeta(i);
      if (!errors || meta.hidden) return;
      meta.data.forEach((bar, j) => {
        const value = ds.data[j] as number | null;
        const err = errors[j];
        if (value === null || err === null || err === undefined || !err) return;
        const y = chart.scales.y;
        const top = y.getPixelForValue(value + err);
        const bottom = y.getPixelForValue(Math.max(0, value - err));
        const x = (bar as unknown as { x: number }).x;
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, bottom);
        ctx.moveTo(x - 4, top);
        ctx.lineTo(x + 4, top);
        ctx.moveTo(x - 4, bottom);
        ctx.lineTo(x + 4, bottom);
        ctx.stroke();
      });
    });
    ctx.restore();
  },
};

/** An opaque background, so an exported PNG reads the same outside VS Code. */
const background: Plugin<'bar'> = {
  id: 'sovereignBackground',
  beforeDraw(chart) {
    const ctx = chart.ctx;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = theme().background;
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

function show(state: BenchmarksState): void {
  app.removeAttribute('aria-busy');
  if (state.kind === 'loading') return emptyState(app, 'Reading .sovereign/benchmarks…');
  if (state.kind === 'empty') {
    runs = [];
    destroyCharts();
    return emptyState(app, state.message, problemsList(state.problems));
  }
  runs = state.runs;
  const known = new Set(runs.map((r) => r.id));
  view.selected = view.selected.filter((id) => known.has(id));
  // First time: the newest run of each version, so versions are compared at once.
  if (!view.selected.length) view.selected = latestPerVersion(runs).slice(-8).map((r) => r.id);
  saveState(view);
  render(state.problems);
}

function problemsList(problems: { file: string; message: string }[]): HTMLElement | undefined {
  if (!problems.length) return undefined;
  return h('details', { class: 'problems' }, h('summary', { text: `${problems.length} file(s) could not be read` }), h('ul', {}, ...problems.map((p) => h('li', { text: `${p.file}: ${p.message}` }))));
}

function chosen(): BenchmarkRun[] {
  const selected = runs.filter((r) => view.selected.includes(r.id));
  return view.mode === 'latest-per-version' ? latestPerVersion(selected) : selected;
}

function render(problems: { file: string; message: string }[]): void {
  destroyCharts();
  const list = h(
    'div',
    { class: 'run-list', attrs: { role: 'group', 'aria-label': 'Runs' } },
    ...runs.map((r) => {
      const box = h('vscode-checkbox', { attrs: { label: runLabel(r), checked: view.selected.includes(r.id) ? '' : undefined, 'data-id': r.id } });
      box.addEventListener('change', () => {
        const checked = (box as unknown as { checked: boolean }).checked;
        view.selected = checked ? [...view.selected, r.id] : view.selected.filter((x) => x !== r.id);
        saveState(view);
        render(problems);
      });
      return h('div', { class: 'run' }, box, h('a', { class: 'file-link', attrs: { href: '#', title: r.id }, text: 'json', on: { click: (e) => (e.preventDefault(), void rpc.request('openFile', { id: r.id }).catch(reportError)) } }), h('div', { class: 'machine', text: machineLine(r) }));
    }),
  );
  const mode = h('vscode-radio-group', { attrs: { 'aria-label': 'Compare' } },
    h('vscode-radio', { attrs: { label: 'Selected runs', name: 'mode', value: 'runs', checked: view.mode === 'runs' ? '' : undefined } }),
    h('vscode-radio', { attrs: { label: 'Latest run per version', name: 'mode', value: 'latest-per-version', checked: view.mode === 'latest-per-version' ? '' : undefined } }),
  );
  mode.addEventListener('change', (e) => {
    const value = (e.target as unknown as { value?: string }).value;
    if (value === 'runs' || value === 'latest-per-version') {
      view.mode = value;
      saveState(view);
      render(problems);
    }
  });
  const selected = chosen();
  const csv = h('vscode-button', {
    attrs: { secondary: '' },
    text: 'Export CSV',
    on: { click: () => void rpc.request('saveFile', { suggestedName: exportName(selected, 'data', 'csv'), kind: 'csv', text: toCsv(selected) }).catch(reportError) },
  });
  const specs = chartSpecs(selected);
  const chartsBox = h('div', { class: 'charts' });
  app.replaceChildren(
    h('div', { class: 'toolbar' }, mode, csv, h('vscode-button', { attrs: { secondary: '' }, text: 'Refresh', on: { click: () => void rpc.request('refresh', undefined).catch(reportError) } })),
    h('div', { class: 'message', attrs: { id: 'message', role: 'status' } }),
    h('div', { class: 'layout' }, list, chartsBox),
    problemsList(problems) ?? h('span'),
  );
  if (!selected.length) chartsBox.append(h('p', { class: 'hint', text: 'Select runs on the left to compare them.' }));
  else if (!specs.length) chartsBox.append(h('p', { class: 'hint', text: 'The selected runs have no figures to chart.' }));
  for (const spec of specs) chartsBox.append(chartCard(spec, selected));
}

/**
 * The chart of `spec` in the current theme: the one on screen, and the one an SVG export draws again. The
 * SVG one carries the title (on screen the card's heading does), and its bars have no border: a bar's
 * border has the bar's colour, and svgcanvas loses the border ring Chart.js draws after a clip, so one
 * shape of the bar's full size looks the same.
 */
function chartConfig(spec: ChartSpec, forSvg = false): ChartConfiguration<'bar', (number | null)[], string> {
  const t = theme();
  const datasets: ChartDataset<'bar', (number | null)[]>[] = spec.series.map((s, i) => ({
    label: s.label,
    data: s.values,
    errors: s.errors,
    backgroundColor: t.palette[i % t.palette.length],
    borderColor: t.palette[i % t.palette.length],
    borderWidth: forSvg ? 0 : 1,
  }));
  return {
    type: 'bar',
    data: { labels: spec.labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      color: t.text,
      scales: {
        x: { ticks: { color: t.text, autoSkip: false, maxRotation: 30 }, grid: { color: t.grid } },
        y: { beginAtZero: true, title: { display: true, text: spec.unit, color: t.text }, ticks: { color: t.text }, grid: { color: t.grid } },
      },
      plugins: {
        title: { display: forSvg, text: spec.title, color: t.text },
        legend: { labels: { color: t.text } },
        tooltip: {
          callbacks: {
            label: (item) => {
              const err = (item.dataset as { errors?: (number | null)[] }).errors?.[item.dataIndex];
              return `${item.dataset.label}: ${Number(item.raw).toFixed(1)}${err ? ` ± ${err.toFixed(1)}` : ''} ${spec.unit}`;
            },
          },
        },
      },
    },
    plugins: [errorBars, background],
  };
}

function chartCard(spec: ChartSpec, selected: BenchmarkRun[]): HTMLElement {
  const canvas = h('canvas', { attrs: { role: 'img', 'aria-label': `${spec.title} (${spec.unit})` } });
  const chart = new Chart(canvas, chartConfig(spec));
  charts.push(chart);
  const png = h('vscode-button', {
    attrs: { secondary: '', title: 'Save this chart as a PNG image' },
    text: 'PNG',
    on: { click: () => void rpc.request('saveFile', { suggestedName: exportName(selected, spec.id, 'png'), kind: 'png', base64: chart.toBase64Image('image/png').split(',')[1] }).catch(reportError) },
  });
  const svg = h('vscode-button', {
    attrs: { secondary: '', title: 'Save this chart as an SVG image (vector: text and bars stay sharp and editable)' },
    text: 'SVG',
    on: {
      click: () => {
        try {
          const text = chartSvg(chartConfig(spec, true), chart.width, chart.height);
          void rpc.request('saveFile', { suggestedName: exportName(selected, spec.id, 'svg'), kind: 'svg', text }).catch(reportError);
        } catch (err) {
          reportError(err);
        }
      },
    },
  });
  return h('section', { class: 'chart-card', attrs: { 'data-chart': spec.id } }, h('header', {}, h('h2', { text: spec.title }), h('div', { class: 'exports' }, png, svg)), h('div', { class: 'chart-box' }, canvas));
}

function destroyCharts(): void {
  for (const c of charts.splice(0)) c.destroy();
}

// Theme switches change VS Code's CSS variables (body class vscode-light/dark/high-contrast): redraw.
new MutationObserver(() => {
  if (runs.length) render([]);
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });
