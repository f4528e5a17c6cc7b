/**
 * The UI state each view keeps with `setState` and gets back with `getState` (after hide/show, and after
 * a window reload when the panel is restored by its serializer). A saved state is not trusted: it may
 * come from an older build of the view, a hand-edited workspace storage, or a bug. Every field is taken
 * only when it has the right type and a sane value, otherwise the default is used; unknown fields are
 * dropped. Pure (no DOM, no `vscode`): the webviews, the host and the Node tests share it.
 */
import type { BenchmarksViewState } from '../benchmarks/contract';
import type { LineageViewState } from '../lineage/contract';
import type { PolicyViewState } from '../policy/contract';
import type { TcoViewState } from '../tco/contract';
import type { ChatSettings, PlaygroundViewState, SavedConversation, SavedTurn, TurnStats } from '../playground/contract';

/** Long enough for any real filter, id or list; a saved state bigger than this is not ours. */
const MAX_TEXT = 1_000;
const MAX_ITEMS = 2_000;

export const ZOOM_MIN = 0.2;
export const ZOOM_MAX = 3;

function record(saved: unknown): Record<string, unknown> {
  return typeof saved === 'object' && saved !== null && !Array.isArray(saved) ? (saved as Record<string, unknown>) : {};
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= MAX_TEXT ? value : undefined;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** An array of strings, deduplicated; a wrong element drops only that element, a wrong shape drops all. */
function textList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length > MAX_ITEMS) return undefined;
  return [...new Set(value.filter((v): v is string => text(v) !== undefined && v.length > 0))];
}

export const LINEAGE_DEFAULTS: LineageViewState = { filter: '', zoom: 1, scrollLeft: 0, scrollTop: 0 };

export function restoreLineageViewState(saved: unknown): LineageViewState {
  const s = record(saved);
  const zoom = finite(s.zoom);
  const state: LineageViewState = {
    filter: text(s.filter) ?? LINEAGE_DEFAULTS.filter,
    zoom: zoom !== undefined && zoom > 0 ? Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, zoom)) : LINEAGE_DEFAULTS.zoom,
    scrollLeft: Math.max(0, finite(s.scrollLeft) ?? 0),
    scrollTop: Math.max(0, finite(s.scrollTop) ?? 0),
  };
  const selected = text(s.selected);
  if (selected) state.selected = selected;
  // A zoom the user chose is kept only with the zoom it names; without one the view fits the panel again.
  if (s.zoomedByUser === true && zoom !== undefined) state.zoomedByUser = true;
  return state;
}

export const BENCHMARKS_DEFAULTS: BenchmarksViewState = { selected: [], mode: 'runs' };

export function restoreBenchmarksViewState(saved: unknown): BenchmarksViewState {
  const s = record(saved);
  return {
    selected: textList(s.selected) ?? [],
    mode: s.mode === 'runs' || s.mode === 'latest-per-version' ? s.mode : BENCHMARKS_DEFAULTS.mode,
  };
}

export const POLICY_DEFAULTS: PolicyViewState = { collapsed: [], showWaived: true };

export function restorePolicyViewState(saved: unknown): PolicyViewState {
  const s = record(saved);
  return {
    collapsed: textList(s.collapsed) ?? [],
    showWaived: typeof s.showWaived === 'boolean' ? s.showWaived : POLICY_DEFAULTS.showWaived,
  };
}

/** The deployments view keeps no UI state (everything it shows is live): anything saved is ignored. */
export function restoreDeploymentsViewState(_saved: unknown): Record<string, never> {
  return {};
}

export const TCO_DEFAULTS: TcoViewState = {
  model: '',
  requestsPerDay: 10_000,
  inputTokens: 500,
  outputTokens: 200,
  pricing: 'purchase',
  purchasePrice: 3_000,
  amortisationMonths: 36,
  hourlyPrice: 1,
  powerWatts: 300,
  idleWatts: 60,
  electricityPrice: 0.3,
  utilisation: 0.6,
  apiInputPerMillion: 0.5,
  apiOutputPerMillion: 1.5,
  currency: 'USD',
};

/** The TCO form: each number kept when it is finite and >= 0 (utilisation in (0, 1]), else its default. */
export function restoreTcoViewState(saved: unknown): TcoViewState {
  const s = record(saved);
  const out: TcoViewState = { ...TCO_DEFAULTS };
  const numbers = Object.keys(TCO_DEFAULTS).filter((k) => typeof TCO_DEFAULTS[k as keyof TcoViewState] === 'number') as (keyof TcoViewState)[];
  for (const k of numbers) {
    const v = finite(s[k]);
    if (v !== undefined && v >= 0 && v <= 1e15 && (k !== 'utilisation' || (v > 0 && v <= 1))) (out as unknown as Record<string, number>)[k] = v;
  }
  const model = text(s.model);
  if (model !== undefined && model.length <= 513) out.model = model;
  if (s.pricing === 'purchase' || s.pricing === 'hourly') out.pricing = s.pricing;
  const currency = text(s.currency);
  if (currency !== undefined && /^[A-Za-z$€£¥ ]{1,16}$/.test(currency)) out.currency = currency;
  return out;
}

export const CHAT_SETTINGS_DEFAULTS: ChatSettings = { system: '', temperature: 0.7, topP: 0.95, maxTokens: 512 };
/** Turns kept per column, and the longest text kept per turn (the Playground's schema bounds). */
const MAX_CHAT_TURNS = 500;
const MAX_CHAT_TEXT = 200_000;

function chatText(value: unknown, max = MAX_CHAT_TEXT): string | undefined {
  return typeof value === 'string' && value.length <= max ? value : undefined;
}

function restoreStats(value: unknown): TurnStats | undefined {
  const s = record(value);
  const finish = s.finish;
  if (finish !== 'stop' && finish !== 'length' && finish !== 'cancelled' && finish !== 'error') return undefined;
  const nonNegative = (v: unknown): number | undefined => {
    const n = finite(v);
    return n !== undefined && n >= 0 && n <= 1e9 ? n : undefined;
  };
  const out: TurnStats = { finish, totalMs: nonNegative(s.totalMs) ?? 0, redactions: Math.floor(nonNegative(s.redactions) ?? 0) };
  for (const key of ['ttftMs', 'tokensPerSecond', 'firstPaintMs', 'firstTextMs'] as const) {
    const v = nonNegative(s[key]);
    if (v !== undefined) out[key] = v;
  }
  for (const key of ['promptTokens', 'completionTokens'] as const) {
    const v = nonNegative(s[key]);
    if (v !== undefined) out[key] = Math.floor(v);
  }
  const template = chatText(s.template, 256);
  if (template !== undefined) out.template = template;
  const error = chatText(s.error, 2_000);
  if (error !== undefined) out.error = error;
  return out;
}

function restoreTurns(value: unknown): SavedTurn[] {
  if (!Array.isArray(value)) return [];
  const turns: SavedTurn[] = [];
  for (const t of value.slice(-MAX_CHAT_TURNS)) {
    const r = record(t);
    const body = chatText(r.text);
    if ((r.role !== 'user' && r.role !== 'assistant') || body === undefined) continue;
    const turn: SavedTurn = { role: r.role, text: body };
    const target = chatText(r.target, 4_096);
    if (target !== undefined) turn.target = target;
    const stats = restoreStats(r.stats);
    if (stats) turn.stats = stats;
    turns.push(turn);
  }
  return turns;
}

/** A saved conversation (workspaceState or the view's state), checked field by field: both can be stale or hand-edited. */
export function restoreConversation(saved: unknown): SavedConversation {
  const s = record(saved);
  const st = record(s.settings);
  const num = (v: unknown, min: number, max: number, fallback: number): number => {
    const n = finite(v);
    return n !== undefined && n >= min && n <= max ? n : fallback;
  };
  const system = chatText(st.system, 20_000);
  const columns = Array.isArray(s.columns) ? s.columns.slice(0, 2).map(restoreTurns) : [];
  while (columns.length < 2) columns.push([]);
  const targets = Array.isArray(s.targets) ? s.targets.slice(0, 2).map((t) => chatText(t, 4_096) ?? '') : [];
  while (targets.length < 2) targets.push('');
  return {
    mode: s.mode === 'compare' ? 'compare' : 'single',
    targets,
    settings: {
      system: system ?? CHAT_SETTINGS_DEFAULTS.system,
      temperature: num(st.temperature, 0, 2, CHAT_SETTINGS_DEFAULTS.temperature),
      topP: num(st.topP, 0, 1, CHAT_SETTINGS_DEFAULTS.topP),
      maxTokens: Math.floor(num(st.maxTokens, 1, 32_768, CHAT_SETTINGS_DEFAULTS.maxTokens)),
    },
    columns,
  };
}

export function restorePlaygroundViewState(saved: unknown): PlaygroundViewState {
  return { ...restoreConversation(saved), draft: chatText(record(saved).draft, 20_000) ?? '' };
}

/** The view type of each panel (`vscode.window.createWebviewPanel`, the serializers, `onWebviewPanel:`). */
export const VIEW_TYPES = {
  lineage: 'sovereign.lineage',
  benchmarks: 'sovereign.benchmarks',
  policy: 'sovereign.policyViolations',
  deployments: 'sovereign.deployments',
  tco: 'sovereign.tco',
  playground: 'sovereign.playground',
} as const;

export type ViewName = keyof typeof VIEW_TYPES;

export const RESTORE_VIEW_STATE: Record<ViewName, (saved: unknown) => object> = {
  lineage: restoreLineageViewState,
  benchmarks: restoreBenchmarksViewState,
  policy: restorePolicyViewState,
  deployments: restoreDeploymentsViewState,
  tco: restoreTcoViewState,
  playground: restorePlaygroundViewState,
};

/**
 * What a restored panel's saved state amounts to, for the host's log: nothing saved, kept as saved, or
 * partly/wholly replaced by defaults (an older or malformed shape).
 */
export function describeSavedState(view: ViewName, saved: unknown): 'none' | 'kept' | 'sanitized' {
  if (saved === undefined || saved === null) return 'none';
  const restored = RESTORE_VIEW_STATE[view](saved);
  return sameJson(restored, saved) ? 'kept' : 'sanitized';
}

function sameJson(a: unknown, b: unknown): boolean {
  const canon = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canon) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])])) : v;
  try {
    return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
  } catch {
    return false;
  }
}
