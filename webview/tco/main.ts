/**
 * TCO webview: the inputs of `sovereign tco` as a form, the figures the host computes with the same
 * computation (src/core/tco) and the model's stored benchmark throughput, and a Chart.js line chart of
 * the monthly cost of both against volume (the result's `curve`). Every change recomputes (debounced).
 */
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import { connect, emptyState, h, loadState, reportError, saveState, sayReady } from '../shared/webview-api';
import { restoreTcoViewState } from '../shared/view-state';
import type { TcoContract, TcoFigures, TcoForm, TcoModel, TcoState } from './contract';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, CategoryScale, Legend, Tooltip);

const rpc = connect<TcoContract>();
const app = document.getElementById('app')!;
const form: TcoForm = loadState(restoreTcoViewState);
let models: TcoModel[] = [];
let chart: Chart | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let sequence = 0;

rpc.on('state', (state: TcoState) => show(state));
sayReady(rpc);

type NumberField = { [K in keyof TcoForm]: TcoForm[K] extends number ? K : never }[keyof TcoForm];

const FIELDS: { key: NumberField; label: string; step: string; only?: TcoForm['pricing'] }[] = [
  { key: 'requestsPerDay', label: 'Requests per day', step: '1' },
  { key: 'inputTokens', label: 'Input tokens per request', step: '1' },
  { key: 'outputTokens', label: 'Output tokens per request', step: '1' },
  { key: 'purchasePrice', label: 'Machine purchase price', step: 'any', only: 'purchase' },
  { key: 'amortisationMonths', label: 'Amortisation (months)', step: '1', only: 'purchase' },
  { key: 'hourlyPrice', label: 'Price per machine-hour', step: 'any', only: 'hourly' },
  { key: 'powerWatts', label: 'Power under load (W)', step: 'any' },
  { key: 'idleWatts', label: 'Power when idle (W)', step: 'any' },
  { key: 'electricityPrice', label: 'Price of a kWh', step: 'any' },
  { key: 'utilisation', label: 'Planned utilisation (0-1)', step: '0.05' },
  { key: 'apiInputPerMillion', label: 'API price / 1M input tokens', step: 'any' },
  { key: 'apiOutputPerMillion', label: 'API price / 1M output tokens', step: 'any' },
];

function theme(): { blue: string; orange: string; text: string; grid: string } {
  const css = getComputedStyle(document.body);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  return { blue: v('--vscode-charts-blue', '#3794ff'), orange: v('--vscode-charts-orange', '#d18616'), text: v('--vscode-foreground', '#cccccc'), grid: v('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)') };
}

function show(state: TcoState): void {
  chart?.destroy();
  chart = undefined;
  app.replaceChildren();
  if (state.kind === 'loading') return emptyState(app, 'Reading the stored benchmark results…');
  if (state.kind === 'empty') return emptyState(app, state.message);
  models = state.models;
  if (!models.some((m) => m.ref === form.model && m.throughput)) form.model = (models.find((m) => m.throughput) ?? models[0]).ref;
  saveState(form);

  const select = h('select', { attrs: { id: 'in-model' }, on: { change: (e) => ((form.model = (e.target as HTMLSelectElement).value), changed()) } }, ...models.map((m) => h('option', { attrs: { value: m.ref }, text: m.throughput ? m.ref : `${m.ref} (no usable benchmark)` })));
  select.value = form.model;
  const pricing = h('select', { attrs: { id: 'in-pricing' }, on: { change: (e) => ((form.pricing = (e.target as HTMLSelectElement).value as TcoForm['pricing']), show(state)) } }, h('option', { attrs: { value: 'purchase' }, text: 'bought (amortised)' }), h('option', { attrs: { value: 'hourly' }, text: 'rented (per hour)' }));
  pricing.value = form.pricing;
  const currency = h('input', { attrs: { id: 'in-currency', type: 'text', value: form.currency, maxlength: '16', size: '5' }, on: { input: (e) => ((form.currency = (e.target as HTMLInputElement).value.trim()), changed()) } });
  const inputs = FIELDS.filter((f) => !f.only || f.only === form.pricing).map((f) =>
    h(
      'label',
      { class: 'field' },
      h('span', { text: f.label }),
      h('input', {
        attrs: { id: `in-${f.key}`, type: 'number', min: '0', step: f.step, value: String(form[f.key]) },
        on: {
          input: (e) => {
            const v = Number((e.target as HTMLInputElement).value);
            if ((e.target as HTMLInputElement).value !== '' && Number.isFinite(v)) {
              form[f.key] = v;
              changed();
            }
          },
        },
      }),
    ),
  );
  app.append(
    h(
      'div',
      { class: 'tco-layout' },
      h(
        'form',
        { class: 'tco-inputs', on: { submit: (e) => e.preventDefault() } },
        h('label', { class: 'field' }, h('span', { text: 'Model (stored benchmarks)' }), select),
        h('div', { class: 'throughput', attrs: { id: 'throughput' } }),
        h('label', { class: 'field' }, h('span', { text: 'Hardware' }), pricing),
        ...inputs,
        h('label', { class: 'field' }, h('span', { text: 'Currency' }), currency),
        h('p', { class: 'note', text: 'Prices are yours: nothing is fetched. docs/tco.md has a dated example table.' }),
      ),
      h('div', { class: 'tco-results' }, h('div', { attrs: { id: 'figures' } }), h('div', { class: 'chart-box' }, h('canvas', { attrs: { id: 'curve', 'aria-label': 'monthly cost against requests per day' } }))),
    ),
  );
  showThroughput();
  void compute();
}

function showThroughput(): void {
  const m = models.find((x) => x.ref === form.model);
  const el = document.getElementById('throughput');
  if (!el) return;
  el.textContent = m?.throughput ? `${fmt(m.throughput.inputTokensPerSecond, 0)} input tok/s, ${fmt(m.throughput.outputTokensPerSecond, 0)} output tok/s: ${m.throughput.source}` : (m?.problem ?? '');
}

function changed(): void {
  saveState(form);
  showThroughput();
  clearTimeout(timer);
  timer = setTimeout(() => void compute(), 250);
}

async function compute(): Promise<void> {
  const mine = ++sequence;
  try {
    const answer = await rpc.request('compute', { ...form });
    if (mine !== sequence) return; // a newer computation is on its way
    if (!answer.ok) return showProblem(answer.message);
    showFigures(answer.figures);
  } catch (err) {
    if (mine === sequence) reportError(err);
  }
}

function showProblem(message: string): void {
  const el = document.getElementById('figures');
  if (el) el.replaceChildren(h('p', { class: 'problem', attrs: { id: 'problem' }, text: message }));
  chart?.destroy();
  chart = undefined;
}

function fmt(v: number, digits = 2): string {
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function money(v: number, currency: string): string {
  return `${fmt(v, 2)} ${currency}`;
}

function perRequest(v: number, currency: string): string {
  return `${v.toLocaleString('en-US', { maximumSignificantDigits: 3 })} ${currency}`;
}

function showFigures(f: TcoFigures): void {
  const el = document.getElementById('figures');
  if (!el) return;
  const c = f.currency;
  const row = (label: string, self: string, api: string, id: string): HTMLElement => h('tr', { attrs: { 'data-row': id } }, h('th', { text: label }), h('td', { class: 'self', text: self }), h('td', { class: 'api', text: api }));
  const gapPct = Math.round(f.utilisation.gap * 1000) / 10;
  el.replaceChildren(
    h(
      'table',
      { class: 'tco-figures' },
      h('thead', {}, h('tr', {}, h('th'), h('th', { text: 'Self-hosted' }), h('th', { text: 'API' }))),
      h(
        'tbody',
        {},
        row('Monthly', money(f.selfHosted.monthly, c), money(f.api.monthly, c), 'monthly'),
        row('Yearly', money(f.selfHosted.yearly, c), money(f.api.yearly, c), 'yearly'),
        row('Per request', perRequest(f.selfHosted.perRequest, c), perRequest(f.api.perRequest, c), 'per-request'),
      ),
    ),
    h(
      'ul',
      { class: 'tco-facts' },
      h('li', { attrs: { id: 'cheaper' }, text: f.cheaper === 'equal' ? 'Both cost the same.' : `Cheaper: ${f.cheaper}.` }),
      h('li', { attrs: { id: 'machines' }, text: `Machines: ${f.machines} (one serves ${fmt(f.capacity.plannedRequestsPerDay, 0)} requests/day at ${Math.round(f.utilisation.planned * 100)}% planned utilisation; ${fmt(f.throughput.secondsPerRequest, 2)} s per request)` }),
      h('li', { attrs: { id: 'break-even' }, text: f.breakEvenRequestsPerDay === null ? 'Break-even: never on one machine at these prices (the API stays cheaper).' : `Break-even: ${fmt(f.breakEvenRequestsPerDay, 0)} requests/day` }),
      h('li', { attrs: { id: 'utilisation' }, text: `Utilisation: ${fmt(f.utilisation.actual * 100, 1)}% used of ${Math.round(f.utilisation.planned * 100)}% planned (gap ${fmt(gapPct, 1)} points); at the planned utilisation a request would cost ${perRequest(f.utilisation.perRequestAtPlanned, c)}` }),
      h('li', { class: 'note', text: `Self-hosted monthly: hardware ${money(f.selfHosted.hardwareMonthly, c)}, power ${money(f.selfHosted.powerMonthly, c)}.` }),
    ),
  );
  drawCurve(f);
}

function drawCurve(f: TcoFigures): void {
  const canvas = document.getElementById('curve') as HTMLCanvasElement | null;
  if (!canvas) return;
  const t = theme();
  const points = (key: 'selfHostedMonthly' | 'apiMonthly'): { x: number; y: number }[] => f.curve.map((p) => ({ x: p.requestsPerDay, y: p[key] }));
  if (chart) {
    chart.data.datasets[0].data = points('selfHostedMonthly');
    chart.data.datasets[1].data = points('apiMonthly');
    chart.update('none');
    return;
  }
  const config: ChartConfiguration<'line', { x: number; y: number }[]> = {
    type: 'line',
    data: {
      datasets: [
        { label: 'Self-hosted (monthly)', data: points('selfHostedMonthly'), borderColor: t.blue, backgroundColor: t.blue, stepped: false },
        { label: 'API (monthly)', data: points('apiMonthly'), borderColor: t.orange, backgroundColor: t.orange },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      plugins: { legend: { labels: { color: t.text } } },
      scales: {
        x: { type: 'logarithmic', title: { display: true, text: 'requests per day', color: t.text }, ticks: { color: t.text }, grid: { color: t.grid } },
        y: { type: 'linear', beginAtZero: true, title: { display: true, text: `monthly cost (${f.currency})`, color: t.text }, ticks: { color: t.text }, grid: { color: t.grid } },
      },
    },
  };
  chart = new Chart(canvas, config);
}
