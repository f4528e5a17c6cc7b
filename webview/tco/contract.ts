/** The TCO view's message contract: the inputs the view sends, the figures the host computes (src/core/tco). */
import type { ViewContract } from '../shared/ipc';

/** Throughput of one machine, read by the host from the workspace's stored benchmark results. */
export interface TcoThroughput {
  inputTokensPerSecond: number;
  outputTokensPerSecond: number;
  /** The benchmark file it comes from (and whether it was a load test). */
  source: string;
}

/** A registered version with stored benchmark results: its throughput, or why none could be read. */
export interface TcoModel {
  /** NAME@VERSION */
  ref: string;
  throughput?: TcoThroughput;
  problem?: string;
}

export type TcoState =
  | { kind: 'models'; models: TcoModel[] }
  | { kind: 'empty'; message: string }
  | { kind: 'loading' };

/** The inputs as the form holds them (money in `currency`; prices are the user's, nothing is fetched). */
export interface TcoForm {
  /** NAME@VERSION whose stored benchmarks give the throughput. */
  model: string;
  requestsPerDay: number;
  inputTokens: number;
  outputTokens: number;
  /** The hardware profile: bought (purchase price over amortisation months) or rented by the hour. */
  pricing: 'purchase' | 'hourly';
  purchasePrice: number;
  amortisationMonths: number;
  hourlyPrice: number;
  powerWatts: number;
  idleWatts: number;
  electricityPrice: number;
  /** The most of a machine's capacity to plan for (0-1]. */
  utilisation: number;
  apiInputPerMillion: number;
  apiOutputPerMillion: number;
  currency: string;
}

interface CostFigures {
  monthly: number;
  yearly: number;
  perRequest: number;
}

/** What the view shows of `computeTco`'s result (src/core/tco/tco.ts: the host sends that object as is). */
export interface TcoFigures {
  currency: string;
  throughput: TcoThroughput & { secondsPerRequest: number };
  capacity: { fullRequestsPerDay: number; plannedRequestsPerDay: number };
  machines: number;
  selfHosted: CostFigures & { hardwareMonthly: number; powerMonthly: number };
  api: CostFigures;
  breakEvenRequestsPerDay: number | null;
  cheaper: 'self-hosted' | 'api' | 'equal';
  utilisation: { planned: number; actual: number; gap: number; perRequestAtPlanned: number };
  curve: { requestsPerDay: number; selfHostedMonthly: number; apiMonthly: number; machines: number }[];
}

export type TcoAnswer = { ok: true; figures: TcoFigures } | { ok: false; message: string };

export interface TcoContract extends ViewContract {
  host: {
    /** Computes the TCO of the form's inputs with the model's stored throughput. */
    compute: (params: TcoForm) => TcoAnswer;
    refresh: (params: undefined) => void;
  };
  toWebview: { state: TcoState };
  toHost: Record<string, never>;
}

/** The form, kept with setState (webview/shared/view-state.ts checks it field by field). */
export type TcoViewState = TcoForm;
