/** What the host reads from a deployment's /metrics for the Deployments view (computed in src/core/views/deployment-metrics.ts). */

export interface MetricsSummary {
  requests?: number;
  /** Since the previous poll, when there was one. */
  requestsPerSecond?: number;
  errors?: number;
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  ttftP50Ms?: number;
  tokensPerSecondP50?: number;
  generatedTokens?: number;
  inFlight?: number;
  queueDepth?: number;
  rssBytes?: number;
  modelLoadSeconds?: number;
  engineRestarts?: number;
  /** Live drift of an ONNX version served with its validation baseline (docs/drift.md). */
  drift?: DriftSummary;
}

export interface DriftSummary {
  features: { name: string; psi: number; threshold?: number }[];
  predictionPsi?: number;
  windowRows?: number;
}
