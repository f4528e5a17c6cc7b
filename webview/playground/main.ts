/**
 * Playground webview (docs/chat.md): chat with a policy-admitted registered version or a running backend,
 * or send the same prompt to two of them side by side. The host runs each turn and streams the answer as
 * `delta` notifications; this view renders it as markdown (markdown-it with `html: false`: HTML in an
 * answer is escaped text, never markup; no images; links are inert until the host has the person confirm).
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import MarkdownIt from 'markdown-it';
import { connect, emptyState, h, loadState, reportError, saveState, sayReady } from '../shared/webview-api';
import { restoreConversation, restorePlaygroundViewState } from '../shared/view-state';
import type { PlaygroundContract, PlaygroundState, PlaygroundTarget, PlaygroundViewState, SavedTurn, TurnStats } from './contract';

const rpc = connect<PlaygroundContract>();
const app = document.getElementById('app')!;
const view: PlaygroundViewState = loadState(restorePlaygroundViewState);
let targets: PlaygroundTarget[] = [];
let note: string | undefined;

/** Turns under way: their column, their saved turn, where they render, when Send was pressed. */
interface Running {
  column: number;
  turn: SavedTurn;
  body: HTMLElement;
  meta: HTMLElement;
  sentAt: number;
  firstPaintMs?: number;
  firstTextMs?: number;
  scheduled: boolean;
}
const running = new Map<string, Running>();
let turnCounter = 0;

const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: false });
md.disable(['image']);

rpc.on('state', (state: PlaygroundState) => show(state));
rpc.on('delta', ({ turnId, text }) => {
  const r = running.get(turnId);
  if (!r) return;
  r.turn.text += text;
  r.firstTextMs ??= performance.now() - r.sentAt;
  if (r.firstPaintMs === undefined && r.turn.text.length > 0) {
    // The first text is rendered at once (the person waits for it); later pieces are batched per frame.
    renderAnswer(r.body, r.turn.text);
    r.firstPaintMs = performance.now() - r.sentAt;
    return;
  }
  if (r.scheduled) return;
  r.scheduled = true;
  requestAnimationFrame(() => {
    r.scheduled = false;
    renderAnswer(r.body, r.turn.text);
    if (r.firstPaintMs === undefined && r.turn.text.length > 0) r.firstPaintMs = performance.now() - r.sentAt;
    r.body.scrollIntoView({ block: 'end' });
  });
});
rpc.on('done', ({ turnId, stats }) => {
  const r = running.get(turnId);
  if (!r) return;
  running.delete(turnId);
  // The last delta may still wait for its frame: the final text is rendered now.
  renderAnswer(r.body, r.turn.text);
  if (r.firstPaintMs === undefined && r.turn.text.length > 0) r.firstPaintMs = performance.now() - r.sentAt;
  const tenth = (v: number): number => Math.round(v * 10) / 10;
  r.turn.stats = { ...stats, ...(r.firstPaintMs !== undefined ? { firstPaintMs: tenth(r.firstPaintMs) } : {}), ...(r.firstTextMs !== undefined ? { firstTextMs: tenth(r.firstTextMs) } : {}) };
  r.meta.replaceChildren(...statsLine(r.turn.stats));
  r.body.closest('.turn')?.classList.remove('streaming');
  persist();
  updateButtons();
});
sayReady(rpc);

function persist(): void {
  saveState(view);
  const { draft: _draft, ...conversation } = view;
  void rpc.request('saveConversation', conversation).catch(reportError);
}

/** The answer as markdown: escaped HTML, inert links, code blocks with Copy and Insert. */
function renderAnswer(el: HTMLElement, text: string): void {
  // markdown-it with html: false escapes every `<` of the source; its own output is the only markup.
  el.innerHTML = md.render(text);
  for (const a of Array.from(el.querySelectorAll('a'))) {
    const href = a.getAttribute('href') ?? '';
    a.removeAttribute('href');
    a.setAttribute('data-href', href);
    a.setAttribute('role', 'link');
    a.setAttribute('tabindex', '0');
    a.title = `${href} (asks before opening)`;
    const open = (): void => void rpc.request('openLink', { href }).catch(reportError);
    a.addEventListener('click', (e) => (e.preventDefault(), open()));
    a.addEventListener('keydown', (e) => (e.key === 'Enter' ? open() : undefined));
  }
  for (const pre of Array.from(el.querySelectorAll('pre'))) {
    const code = pre.textContent ?? '';
    const bar = h(
      'div',
      { class: 'code-actions' },
      h('vscode-button', { attrs: { secondary: '', title: 'Copy this code' }, class: 'copy-code', text: 'Copy', on: { click: () => void rpc.request('copyCode', { code }).catch(reportError) } }),
      h('vscode-button', {
        attrs: { secondary: '', title: 'Insert at the cursor of the active editor' },
        class: 'insert-code',
        text: 'Insert',
        on: { click: () => void rpc.request('insertCode', { code }).then((r) => (r.ok ? undefined : reportError(new Error(r.message ?? 'no editor to insert into')))).catch(reportError) },
      }),
    );
    pre.before(bar);
  }
}

function fmt(v: number | undefined, unit: string, digits = 0): string | undefined {
  return v === undefined ? undefined : `${v.toLocaleString('en-US', { maximumFractionDigits: digits })} ${unit}`;
}

function statsLine(s: TurnStats): Node[] {
  const parts = [
    s.finish === 'cancelled' ? 'stopped' : s.finish === 'length' ? 'max tokens reached' : undefined,
    s.ttftMs !== undefined ? `TTFT ${fmt(s.ttftMs, 'ms')}` : undefined,
    s.tokensPerSecond !== undefined ? fmt(s.tokensPerSecond, 'tok/s', 1) : undefined,
    s.completionTokens !== undefined ? `${s.completionTokens} tokens` : undefined,
    s.promptTokens !== undefined ? `${s.promptTokens} prompt tokens` : undefined,
    `${fmt(s.totalMs, 'ms')} total`,
    s.template ? `template: ${s.template}` : undefined,
    s.redactions ? `${s.redactions} redacted before sending` : undefined,
  ].filter((p): p is string => p !== undefined);
  const out: Node[] = [h('span', { class: 'stats', text: parts.join(' · ') })];
  if (s.error) out.push(h('span', { class: 'turn-error', text: s.error }));
  return out;
}

function targetLabel(id: string): string {
  return targets.find((t) => t.id === id)?.label ?? id.replace(/^(version|backend):/, '');
}

function turnElement(turn: SavedTurn): { el: HTMLElement; body: HTMLElement; meta: HTMLElement } {
  const body = h('div', { class: 'turn-body' });
  const meta = h('div', { class: 'turn-meta' });
  if (turn.role === 'user') body.textContent = turn.text;
  else {
    renderAnswer(body, turn.text);
    if (turn.stats) meta.replaceChildren(...statsLine(turn.stats));
  }
  const who = turn.role === 'user' ? 'You' : turn.target ? targetLabel(turn.target) : 'Model';
  const el = h('div', { class: `turn ${turn.role}` }, h('div', { class: 'turn-who', text: who }), body, meta);
  // A turn still streaming renders into what is on screen: a re-render (a state refresh from the host while it
  // answers) must not leave its deltas and figures going to elements no longer in the page.
  for (const r of running.values()) {
    if (r.turn !== turn) continue;
    r.body = body;
    r.meta = meta;
    el.classList.add('streaming');
    if (!turn.text) meta.textContent = 'waiting for the first token…';
  }
  return { el, body, meta };
}

function select(column: number): HTMLSelectElement {
  const el = h(
    'select',
    { attrs: { id: `target-${column}`, 'aria-label': column === 0 ? 'Model' : 'Second model' }, on: { change: (e) => ((view.targets[column] = (e.target as HTMLSelectElement).value), persist(), show()) } },
    ...targets.map((t) =>
      h('option', {
        attrs: { value: t.id, disabled: t.admitted ? undefined : '', title: t.reason ?? t.detail ?? '' },
        text: t.admitted ? `${t.label}${t.detail ? ` (${t.detail})` : ''}` : `${t.label}: ${t.reason ?? 'refused'}`,
      }),
    ),
  );
  el.value = view.targets[column];
  return el;
}

function numberField(id: string, label: string, value: number, step: string, min: string, max: string, set: (v: number) => void): HTMLElement {
  return h(
    'label',
    { class: 'field' },
    h('span', { text: label }),
    h('input', {
      attrs: { id, type: 'number', step, min, max, value: String(value) },
      on: {
        change: (e) => {
          const input = e.target as HTMLInputElement;
          const v = Number(input.value);
          if (input.value !== '' && Number.isFinite(v) && v >= Number(min) && v <= Number(max)) {
            set(v);
            persist();
          } else input.value = String(value);
        },
      },
    }),
  );
}

let lastState: PlaygroundState = { kind: 'loading' };
/** The host's `select` already applied (a state replayed after hide/show must not undo a later choice). */
let selectedOnce: string | undefined;
/** Whether the settings are unfolded (kept across re-renders of the view). */
let settingsOpen = false;

function show(state: PlaygroundState = lastState): void {
  lastState = state;
  app.removeAttribute('aria-busy');
  if (state.kind === 'loading') return emptyState(app, 'Reading the registry and the policy…');
  targets = state.targets;
  note = state.note;
  if (state.conversation && view.columns.every((c) => c.length === 0)) {
    const c = restoreConversation(state.conversation);
    Object.assign(view, c);
  }
  const admitted = targets.filter((t) => t.admitted);
  if (state.select && state.select !== selectedOnce && admitted.some((t) => t.id === state.select)) view.targets[0] = state.select;
  selectedOnce = state.select;
  for (let i = 0; i < 2; i++) {
    if (!admitted.some((t) => t.id === view.targets[i])) view.targets[i] = (admitted[i] ?? admitted[0])?.id ?? '';
  }
  saveState(view);
  if (!targets.length) {
    return emptyState(app, note ?? 'Nothing to chat with: register a GGUF model that has a chat template (Sovereign: Register Model...), or start a local model or a backend.');
  }
  const compare = view.mode === 'compare';
  const settings = view.settings;
  const modeButton = h('vscode-button', {
    attrs: { id: 'mode', secondary: '', title: compare ? 'Back to one conversation' : 'The same prompt to two versions, side by side' },
    text: compare ? 'Single' : 'Side by side',
    on: { click: () => ((view.mode = compare ? 'single' : 'compare'), persist(), show()) },
  });
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    h('label', { class: 'field' }, h('span', { text: compare ? 'Left' : 'Model' }), select(0)),
    compare ? h('label', { class: 'field' }, h('span', { text: 'Right' }), select(1)) : undefined,
    modeButton,
    h('vscode-button', { attrs: { id: 'clear', secondary: '', title: 'Start a new conversation' }, text: 'Clear', on: { click: () => ((view.columns = [[], []]), persist(), show()) } }),
    compare
      ? h(
          'span',
          { class: 'save-set' },
          h('input', { attrs: { id: 'set-name', type: 'text', value: defaultSetName(), 'aria-label': 'Prompt set name', maxlength: '80' } }),
          h('vscode-button', { attrs: { id: 'save-set', secondary: '', title: 'Write the prompts to .sovereign/prompts/NAME.jsonl for deploy canary --prompts' }, text: 'Save as canary prompt set', on: { click: () => void savePromptSet() } }),
        )
      : undefined,
  );
  const settingsBox = h(
    'details',
    { class: 'settings', attrs: { id: 'settings', open: settingsOpen ? '' : undefined }, on: { toggle: (e) => (settingsOpen = (e.target as HTMLDetailsElement).open) } },
    h('summary', { text: `Settings (temperature ${settings.temperature}, top-p ${settings.topP}, max ${settings.maxTokens} tokens${settings.system ? ', system prompt' : ''})` }),
    h('label', { class: 'field system' }, h('span', { text: 'System prompt' }), h('textarea', { attrs: { id: 'system', rows: '3' }, text: settings.system, on: { change: (e) => ((settings.system = (e.target as HTMLTextAreaElement).value), persist()) } })),
    h(
      'div',
      { class: 'numbers' },
      numberField('temperature', 'Temperature', settings.temperature, '0.05', '0', '2', (v) => (settings.temperature = v)),
      numberField('top-p', 'Top-p', settings.topP, '0.05', '0', '1', (v) => (settings.topP = v)),
      numberField('max-tokens', 'Max tokens', settings.maxTokens, '1', '1', '32768', (v) => (settings.maxTokens = Math.floor(v))),
    ),
  );
  const columns = h('div', { class: `columns ${compare ? 'compare' : 'single'}`, attrs: { id: 'columns' } });
  for (let c = 0; c < (compare ? 2 : 1); c++) {
    const col = h('section', { class: 'column', attrs: { 'data-column': String(c), 'aria-label': targetLabel(view.targets[c]) } }, h('h2', { class: 'column-title', text: targetLabel(view.targets[c]) }));
    for (const turn of view.columns[c]) col.append(turnElement(turn).el);
    columns.append(col);
  }
  const input = h('textarea', {
    attrs: { id: 'prompt', rows: '3', placeholder: 'Ask something (Ctrl+Enter sends)', 'aria-label': 'Message' },
    text: view.draft,
    on: {
      input: (e) => ((view.draft = (e.target as HTMLTextAreaElement).value), saveState(view)),
      keydown: (e) => {
        const k = e as KeyboardEvent;
        if (k.key === 'Enter' && (k.ctrlKey || k.metaKey)) {
          k.preventDefault();
          send();
        }
      },
    },
  });
  const composer = h(
    'div',
    { class: 'composer' },
    input,
    h('div', { class: 'composer-actions' }, h('vscode-button', { attrs: { id: 'send' }, text: 'Send', on: { click: () => send() } }), h('vscode-button', { attrs: { id: 'stop', secondary: '' }, text: 'Stop', on: { click: () => stop() } })),
  );
  app.replaceChildren(toolbar, settingsBox, note ? h('p', { class: 'note', text: note }) : '', h('div', { class: 'message', attrs: { id: 'message', role: 'alert' } }), columns, composer);
  updateButtons();
}

function updateButtons(): void {
  const busy = running.size > 0;
  document.getElementById('send')?.toggleAttribute('disabled', busy);
  document.getElementById('stop')?.toggleAttribute('disabled', !busy);
}

function defaultSetName(): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  return `playground-${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

function send(): void {
  const prompt = view.draft.trim();
  if (!prompt || running.size > 0) return;
  const message = document.getElementById('message');
  if (message) message.textContent = '';
  const compare = view.mode === 'compare';
  const sentAt = performance.now();
  view.draft = '';
  const input = document.getElementById('prompt') as HTMLTextAreaElement | null;
  if (input) input.value = '';
  for (let c = 0; c < (compare ? 2 : 1); c++) {
    const target = view.targets[c];
    const column = document.querySelector<HTMLElement>(`.column[data-column="${c}"]`);
    if (!target || !column) continue;
    const user: SavedTurn = { role: 'user', text: prompt };
    view.columns[c].push(user);
    column.append(turnElement(user).el);
    const answer: SavedTurn = { role: 'assistant', text: '', target };
    const messages = view.columns[c].filter((t) => t.text.length > 0 && !(t.role === 'assistant' && t.stats?.finish === 'error')).map((t) => ({ role: t.role, text: t.text }));
    view.columns[c].push(answer);
    const shown = turnElement(answer);
    shown.el.classList.add('streaming');
    shown.meta.textContent = 'waiting for the first token…';
    column.append(shown.el);
    const turnId = `${Date.now().toString(36)}-${++turnCounter}-${c}`;
    running.set(turnId, { column: c, turn: answer, body: shown.body, meta: shown.meta, sentAt, scheduled: false });
    rpc
      .request('send', { turnId, target, column: c, settings: view.settings, messages, surface: compare ? 'compare' : 'playground' })
      .then((r) => {
        if (!r.ok) fail(turnId, r.message);
      })
      .catch((err: unknown) => fail(turnId, err instanceof Error ? err.message : String(err)));
  }
  saveState(view);
  updateButtons();
}

function fail(turnId: string, message: string): void {
  const r = running.get(turnId);
  if (!r) return;
  running.delete(turnId);
  r.turn.stats = { finish: 'error', totalMs: performance.now() - r.sentAt, redactions: 0, error: message };
  r.meta.replaceChildren(...statsLine(r.turn.stats));
  r.body.closest('.turn')?.classList.remove('streaming');
  persist();
  updateButtons();
}

function stop(): void {
  for (const turnId of running.keys()) void rpc.request('stop', { turnId }).catch(reportError);
}

async function savePromptSet(): Promise<void> {
  const name = (document.getElementById('set-name') as HTMLInputElement | null)?.value.trim() ?? '';
  const prompts = view.columns[0].filter((t) => t.role === 'user').map((t) => t.text);
  const line = document.getElementById('message');
  try {
    const r = await rpc.request('savePromptSet', { name, prompts: prompts.length ? prompts : [''], maxTokens: view.settings.maxTokens });
    if (line) {
      line.className = r.ok ? 'message info' : 'message error';
      line.textContent = r.ok ? `Saved ${prompts.length} prompt(s) to ${r.file}: sovereign deploy canary REF --prompts ${r.file}` : r.message;
    }
  } catch (err) {
    reportError(err);
  }
}
