/** Deployments webview: what runs where, health, versions, live metrics (polled by the host while visible). */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { connect, emptyState, h, reportError, sayReady } from '../shared/webview-api';
import type { DeploymentRow, DeploymentsContract, DeploymentsState } from './contract';
import type { DriftSummary } from './types';

const rpc = connect<DeploymentsContract>();
const app = document.getElementById('app')!;

rpc.on('state', (state: DeploymentsState) => show(state));
sayReady(rpc);

const fmt = (v: number | undefined, digits = 0, unit = ''): string => (v === undefined ? '—' : `${v.toFixed(digits)}${unit}`);
const mib = (b: number | undefined): string => (b === undefined ? '—' : `${(b / 2 ** 20).toFixed(0)} MiB`);

function metricsCell(row: DeploymentRow): HTMLElement {
  if (row.metricsProblem) return h('td', { class: 'muted', text: row.metricsProblem });
  const m = row.metrics;
  if (!m) return h('td', { class: 'muted', text: row.running ? 'no metrics yet' : '—' });
  return h(
    'td',
    { class: 'metrics' },
    h('span', { text: `${fmt(m.requests)} req${m.requestsPerSecond !== undefined ? ` (${fmt(m.requestsPerSecond, 2)}/s)` : ''}` }),
    h('span', { text: `p50 ${fmt(m.latencyP50Ms, 1, ' ms')} · p95 ${fmt(m.latencyP95Ms, 1, ' ms')}` }),
    h('span', { text: `TTFT p50 ${fmt(m.ttftP50Ms, 1, ' ms')} · ${fmt(m.tokensPerSecondP50, 0, ' tok/s')}` }),
    h('span', { text: `in flight ${fmt(m.inFlight)} · queue ${fmt(m.queueDepth)} · errors ${fmt(m.errors)} · restarts ${fmt(m.engineRestarts)}` }),
    h('span', { text: `RSS ${mib(m.rssBytes)} · load ${fmt(m.modelLoadSeconds, 2, ' s')}` }),
    m.drift ? driftChart(m.drift, 'rows', 'PSI per feature against the validation baseline') : undefined,
    m.promptDrift ? driftChart(m.promptDrift, 'prompts', 'PSI per prompt summary against the baseline prompt set') : undefined,
  );
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * One bar per input feature (ONNX, against the validation baseline) or per prompt summary (a language model, against
 * its baseline prompt set): its PSI, the threshold as a tick.
 */
function driftChart(d: DriftSummary, unit: 'rows' | 'prompts', what: string): HTMLElement {
  if (!d.features.length) {
    return h('span', { class: 'drift muted', text: `${unit === 'rows' ? 'drift' : 'prompt drift'}: ${fmt(d.windowRows)} ${unit} in the window, not enough to compare yet` });
  }
  const rows = [...d.features, ...(d.predictionPsi !== undefined ? [{ name: 'prediction', psi: d.predictionPsi, threshold: d.features[0]?.threshold }] : [])];
  const scale = Math.max(0.5, ...rows.map((r) => Math.max(r.psi, r.threshold ?? 0)));
  const label = 110;
  const width = 160;
  const rowH = 14;
  const chart = svg('svg', { class: 'drift-chart', width: label + width + 50, height: rows.length * rowH + 4, role: 'img', 'aria-label': what });
  rows.forEach((r, i) => {
    const y = i * rowH + 2;
    const drifted = r.threshold !== undefined && r.psi > r.threshold;
    chart.append(
      svg('text', { x: 0, y: y + 10, class: 'drift-name' }, r.name.length > 16 ? `${r.name.slice(0, 15)}…` : r.name),
      svg('rect', { x: label, y: y + 2, width: Math.max(1, (Math.min(r.psi, scale) / scale) * width), height: rowH - 5, class: drifted ? 'drift-bar drifted' : 'drift-bar' }),
      ...(r.threshold !== undefined ? [svg('line', { x1: label + (r.threshold / scale) * width, x2: label + (r.threshold / scale) * width, y1: y, y2: y + rowH - 1, class: 'drift-threshold' })] : []),
      svg('text', { x: label + width + 4, y: y + 10, class: 'drift-value' }, r.psi.toFixed(3)),
    );
  });
  const title = unit === 'rows' ? 'drift' : 'prompt drift';
  return h('span', { class: 'drift', attrs: { title: `${what}: the last ${d.windowRows ?? '?'} ${unit} (tick: threshold)` } }, h('span', { text: `${title} (PSI, ${fmt(d.windowRows)} ${unit})` }), chart as unknown as HTMLElement);
}

function show(state: DeploymentsState): void {
  app.removeAttribute('aria-busy');
  const refresh = h('vscode-button', { attrs: { secondary: '' }, text: 'Refresh', on: { click: () => void rpc.request('refresh', undefined).catch(reportError) } });
  if (state.kind === 'loading') return emptyState(app, 'Asking the Docker engine…');
  if (state.kind === 'unavailable') {
    return emptyState(app, state.reason, h('div', {}, h('p', { class: 'hint', text: state.hint }), refresh));
  }
  if (!state.rows.length) {
    return emptyState(app, 'No staging deployments. Deploy a registered version with `sovereign deploy staging NAME@VERSION`.', refresh);
  }
  const header = ['Model', 'Version', 'Role', 'Health', 'Availability', 'Where', 'Container', 'Live metrics'];
  const table = h(
    'table',
    { class: 'deployments' },
    h('thead', {}, h('tr', {}, ...header.map((t) => h('th', { text: t })))),
    h(
      'tbody',
      {},
      ...state.rows.map((r) =>
        h(
          'tr',
          { class: `health-${r.health}`, attrs: { 'data-model': r.model, 'data-version': r.version } },
          h('td', { text: r.model }),
          h('td', { text: r.version }),
          h('td', {}, h('vscode-badge', { class: `role-${r.role}`, text: r.role })),
          h('td', { attrs: { title: r.healthDetail } }, h('span', { class: `dot health-${r.health}` }), ` ${r.health}${r.healthMs !== undefined ? ` (${r.healthMs} ms)` : ''}`),
          h('td', { text: r.availability ? `${((100 * r.availability.up) / r.availability.probes).toFixed(0)}% of ${r.availability.probes}` : '—' }),
          h('td', { text: r.url ?? '—' }),
          h('td', { attrs: { title: r.image } }, `${r.container} · ${r.state}`),
          metricsCell(r),
        ),
      ),
    ),
  );
  app.replaceChildren(
    h('div', { class: 'toolbar' }, h('span', { class: 'muted', text: `Polled ${state.polledAt.slice(11, 19)} UTC, every ${Math.round(state.intervalMs / 1000)} s while visible` }), refresh),
    h('div', { class: 'message', attrs: { id: 'message', role: 'status' } }),
    table,
  );
}
