/** Deployments webview: what runs where, health, versions, live metrics (polled by the host while visible). */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { connect, emptyState, h, reportError, sayReady } from '../shared/webview-api';
import type { DeploymentRow, DeploymentsContract, DeploymentsState } from './contract';

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
  );
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
