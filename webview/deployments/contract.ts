/** The deployments view's message contract. */
import type { ViewContract } from '../shared/ipc';
import type { MetricsSummary } from './types';

export interface DeploymentRow {
  model: string;
  version: string;
  role: 'stable' | 'canary' | 'previous';
  state: string;
  running: boolean;
  container: string;
  image: string;
  created: string;
  startedAt?: string;
  /** The stable URL (gateway on 127.0.0.1) or the container's own address. */
  url?: string;
  health: 'up' | 'loading' | 'down' | 'stopped' | 'unknown';
  healthDetail?: string;
  healthMs?: number;
  /** Share of health probes answered 200 since the view opened (the availability people expect). */
  availability?: { up: number; probes: number };
  metrics?: MetricsSummary;
  metricsProblem?: string;
}

export type DeploymentsState =
  | { kind: 'list'; rows: DeploymentRow[]; polledAt: string; intervalMs: number }
  | { kind: 'unavailable'; reason: string; hint: string }
  | { kind: 'loading' };

export interface DeploymentsContract extends ViewContract {
  host: {
    refresh: (params: undefined) => void;
  };
  toWebview: { state: DeploymentsState };
  toHost: Record<string, never>;
}
