/**
 * LLM traffic drift (pure functions, no I/O): summaries of a prompt set (length in characters and words,
 * a character-class "script" histogram, the top-N word distribution) and their comparison with a baseline
 * prompt set by PSI. The script histogram is a heuristic, not language identification. docs/drift.md §6.
 */
import { Gauge, type Registry } from 'prom-client';
import { binCounts, psi, quantileEdges } from './stats';

export const PROMPT_BASELINE_SCHEMA = 'sovereign.prompt-baseline/v1';
export const PROMPT_DRIFT_SCHEMA = 'sovereign.prompt-drift/v1';

/** Character classes of the script summary, in this order. */
export const SCRIPT_CLASSES = ['latin', 'cyrillic', 'cjk', 'other_letter', 'digit', 'code_punct', 'other'] as const;
export type ScriptClass = (typeof SCRIPT_CLASSES)[number];
/** The bucket of words outside the baseline's top N. */
export const OTHER_TOKEN = '__other__';

export interface PromptBaseline {
  schema: typeof PROMPT_BASELINE_SCHEMA;
  prompts: number;
  /** Prompt length in characters (code points): interior quantile edges (10 bins) and the counts per bin. */
  chars: { edges: number[]; counts: number[]; mean: number };
  /** Prompt length in whitespace-separated words. */
  words: { edges: number[]; counts: number[]; mean: number };
  /** Non-whitespace characters per class (SCRIPT_CLASSES order). */
  script: { classes: ScriptClass[]; counts: number[] };
  /** Lower-cased words (letter/digit runs): the baseline's top N and the count of every other word last. */
  tokens: { top: string[]; counts: number[] };
}

export interface PromptFeatureDrift {
  name: 'prompt_chars' | 'prompt_words' | 'script' | 'tokens';
  kind: 'length' | 'script' | 'tokens';
  psi: number;
  threshold: number;
  drifted: boolean;
  /** Per-bin (or per-class, per-word) shares, baseline and live, for the report. */
  baseline: { shares: Record<string, number>; mean?: number };
  live: { shares: Record<string, number>; mean?: number };
}

export interface PromptDriftReport {
  schema: typeof PROMPT_DRIFT_SCHEMA;
  drifted: boolean;
  baseline: { source: string; prompts: number };
  live: { source: string; prompts: number };
  features: PromptFeatureDrift[];
}

/**
 * The prompts of a prompt file, the format `sovereign deploy canary --prompts` reads: one per line, plain
 * text, a JSON string, or a JSON object with a string `prompt` (or `messages[]` of `{content}`, joined);
 * blank lines are skipped.
 */
export function parsePromptLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (/^\s*[{"]/.test(line)) {
      try {
        const v = JSON.parse(line) as unknown;
        if (typeof v === 'string') { out.push(v); continue; }
        const o = v as { prompt?: unknown; messages?: unknown };
        if (typeof o.prompt === 'string') { out.push(o.prompt); continue; }
        if (Array.isArray(o.messages)) {
          out.push(o.messages.map((m) => (typeof (m as { content?: unknown })?.content === 'string' ? (m as { content: string }).content : '')).join('\n'));
          continue;
        }
      } catch {
        // not JSON after all: the line is the prompt.
      }
    }
    out.push(line.replace(/\r$/, ''));
  }
  return out;
}

/** The class of one non-whitespace character (heuristic, by Unicode script property). */
export function charClass(ch: string): ScriptClass {
  if (/\p{Script=Latin}/u.test(ch)) return 'latin';
  if (/\p{Script=Cyrillic}/u.test(ch)) return 'cyrillic';
  if (/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(ch)) return 'cjk';
  if (/\p{L}/u.test(ch)) return 'other_letter';
  if (/\p{Nd}/u.test(ch)) return 'digit';
  if (/[{}[\]()<>;=_/\\`$#|*&^%~@+]/.test(ch)) return 'code_punct';
  return 'other';
}

export function scriptCounts(prompts: readonly string[]): number[] {
  const counts = new Array<number>(SCRIPT_CLASSES.length).fill(0);
  for (const p of prompts) for (const ch of p) if (!/\s/u.test(ch)) counts[SCRIPT_CLASSES.indexOf(charClass(ch))]++;
  return counts;
}

export function wordsOf(prompt: string): string[] {
  return prompt.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

const charLength = (p: string): number => [...p].length;
const wordLength = (p: string): number => (p.trim() ? p.trim().split(/\s+/u).length : 0);
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

/** The baseline of a prompt set: 10 quantile bins per length, the script histogram, the top `topN` words. */
export function buildPromptBaseline(prompts: readonly string[], options: { bins?: number; topN?: number } = {}): PromptBaseline {
  if (!prompts.length) throw new RangeError('the baseline prompt set is empty');
  const bins = options.bins ?? 10;
  const topN = options.topN ?? 50;
  const length = (f: (p: string) => number): PromptBaseline['chars'] => {
    const values = prompts.map(f);
    const edges = quantileEdges(values, bins);
    return { edges, counts: binCounts(values, edges), mean: mean(values) };
  };
  const freq = new Map<string, number>();
  for (const p of prompts) for (const w of wordsOf(p)) freq.set(w, (freq.get(w) ?? 0) + 1);
  const top = [...freq.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, topN).map(([w]) => w);
  return {
    schema: PROMPT_BASELINE_SCHEMA,
    prompts: prompts.length,
    chars: length(charLength),
    words: length(wordLength),
    script: { classes: [...SCRIPT_CLASSES], counts: scriptCounts(prompts) },
    tokens: { top, counts: tokenCounts(prompts, top) },
  };
}

/** Word counts over `top` plus the other bucket (last). */
export function tokenCounts(prompts: readonly string[], top: readonly string[]): number[] {
  const index = new Map(top.map((w, i) => [w, i]));
  const counts = new Array<number>(top.length + 1).fill(0);
  for (const p of prompts) for (const w of wordsOf(p)) counts[index.get(w) ?? top.length]++;
  return counts;
}

function shares(labels: readonly string[], counts: readonly number[]): Record<string, number> {
  const total = counts.reduce((s, c) => s + c, 0);
  return Object.fromEntries(labels.map((l, i) => [l, total ? counts[i] / total : 0]));
}

function binLabels(edges: readonly number[]): string[] {
  return Array.from({ length: edges.length + 1 }, (_, i) => (i === 0 ? `<=${edges[0] ?? 'inf'}` : i === edges.length ? `>${edges[i - 1]}` : `${edges[i - 1]}-${edges[i]}`));
}

/** PSI of each summary of `live` against the baseline; a summary drifted when its PSI exceeds `threshold`. */
export function comparePrompts(baseline: PromptBaseline, live: readonly string[], sources: { baseline: string; live: string }, threshold = 0.2): PromptDriftReport {
  if (!live.length) throw new RangeError('the live prompt set is empty');
  const feature = (name: PromptFeatureDrift['name'], kind: PromptFeatureDrift['kind'], labels: string[], base: number[], cur: number[], means?: [number, number]): PromptFeatureDrift => {
    const p = psi(base, cur);
    return {
      name, kind, psi: p, threshold, drifted: p > threshold,
      baseline: { shares: shares(labels, base), ...(means ? { mean: means[0] } : {}) },
      live: { shares: shares(labels, cur), ...(means ? { mean: means[1] } : {}) },
    };
  };
  const charsLive = live.map(charLength);
  const wordsLive = live.map(wordLength);
  const features = [
    feature('prompt_chars', 'length', binLabels(baseline.chars.edges), baseline.chars.counts, binCounts(charsLive, baseline.chars.edges), [baseline.chars.mean, mean(charsLive)]),
    feature('prompt_words', 'length', binLabels(baseline.words.edges), baseline.words.counts, binCounts(wordsLive, baseline.words.edges), [baseline.words.mean, mean(wordsLive)]),
    feature('script', 'script', [...baseline.script.classes], baseline.script.counts, scriptCounts(live)),
    feature('tokens', 'tokens', [...baseline.tokens.top, OTHER_TOKEN], baseline.tokens.counts, tokenCounts(live, baseline.tokens.top)),
  ];
  return {
    schema: PROMPT_DRIFT_SCHEMA,
    drifted: features.some((f) => f.drifted),
    baseline: { source: sources.baseline, prompts: baseline.prompts },
    live: { source: sources.live, prompts: live.length },
    features,
  };
}

/** The prompt of an answered /v1/completions or /v1/chat/completions body (chat: the message contents joined). */
export function promptOfBody(body: Record<string, unknown> | undefined): string | undefined {
  if (!body) return undefined;
  let p = body.prompt;
  if (Array.isArray(p) && p.length === 1) p = p[0];
  if (typeof p === 'string') return p;
  if (Array.isArray(body.messages)) return body.messages.map((m) => (typeof (m as { content?: unknown })?.content === 'string' ? (m as { content: string }).content : '')).join('\n');
  return undefined;
}

/**
 * The serving runtime's bounded window of the last `window` prompts (GET /v1/drift for a GGUF model served
 * with `--drift-baseline-prompts FILE`). Below `minPrompts` prompts the report has no features yet.
 */
export class LivePromptWindow {
  readonly window: number;
  readonly minPrompts: number;
  private readonly ring: string[] = [];
  private next = 0;
  /** Prompts seen since start (not only the window). */
  observed = 0;

  constructor(
    readonly baseline: PromptBaseline,
    readonly source: string,
    options: { window?: number; minPrompts?: number; threshold?: number } = {},
    readonly threshold = options.threshold ?? 0.2,
  ) {
    this.window = Math.max(1, Math.floor(options.window ?? 1000));
    this.minPrompts = Math.max(1, Math.floor(options.minPrompts ?? 50));
  }

  observe(prompt: string | undefined): void {
    if (prompt === undefined) return;
    if (this.ring.length < this.window) this.ring.push(prompt);
    else this.ring[this.next] = prompt;
    this.next = (this.next + 1) % this.window;
    this.observed++;
  }

  report(): PromptDriftReport & { window: number; observed: number; minPrompts: number } {
    const meta = { window: this.window, observed: this.observed, minPrompts: this.minPrompts };
    const live = `live window (last ${this.ring.length} of ${this.observed} prompts, window ${this.window})`;
    if (this.ring.length < this.minPrompts) {
      return { schema: PROMPT_DRIFT_SCHEMA, drifted: false, baseline: { source: this.source, prompts: this.baseline.prompts }, live: { source: live, prompts: this.ring.length }, features: [], ...meta };
    }
    return { ...comparePrompts(this.baseline, this.ring, { baseline: this.source, live }, this.threshold), ...meta };
  }
  /**
   * The window's summaries in /metrics (the Deployments view charts them like an ONNX version's features):
   * sovereign_prompt_drift_psi{model,summary}, sovereign_prompt_drift_threshold{model,summary},
   * sovereign_prompt_drift_summaries_drifted{model} and sovereign_prompt_drift_window_prompts{model}.
   * Below minPrompts the window has no summaries yet, so only the window size is exported.
   */
  registerMetrics(registry: Registry, model: string): void {
    const registers = [registry];
    // One comparison per change of the window, not one per gauge and scrape: the window changes only when a
    // prompt is observed.
    let cached: { observed: number; features: PromptFeatureDrift[] } | undefined;
    const summaries = (): PromptFeatureDrift[] => {
      if (cached?.observed !== this.observed) cached = { observed: this.observed, features: this.report().features };
      return cached.features;
    };
    new Gauge({
      name: 'sovereign_prompt_drift_psi',
      help: 'Population Stability Index of each prompt summary (length, script, words): the live window against the baseline prompt set',
      labelNames: ['model', 'summary'],
      registers,
      collect() {
        this.reset();
        for (const f of summaries()) this.set({ model, summary: f.name }, f.psi);
      },
    });
    new Gauge({
      name: 'sovereign_prompt_drift_threshold',
      help: 'PSI threshold of each prompt summary (the policy drift.psi; default 0.2)',
      labelNames: ['model', 'summary'],
      registers,
      collect() {
        this.reset();
        for (const f of summaries()) this.set({ model, summary: f.name }, f.threshold);
      },
    });
    new Gauge({
      name: 'sovereign_prompt_drift_summaries_drifted',
      help: 'Prompt summaries past their threshold in the live window',
      labelNames: ['model'],
      registers,
      collect() {
        this.set({ model }, summaries().filter((f) => f.drifted).length);
      },
    });
    const ring = (): number => this.ring.length;
    new Gauge({
      name: 'sovereign_prompt_drift_window_prompts',
      help: 'Prompts in the live prompt-drift window',
      labelNames: ['model'],
      registers,
      collect() {
        this.set({ model }, ring());
      },
    });
  }
}
