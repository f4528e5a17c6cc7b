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
  /**
   * Live prompt drift of a language model served with a baseline prompt set (docs/drift.md section 6): one row per
   * summary (prompt_chars, prompt_words, script, tokens); `windowRows` counts prompts, and `features` stays empty
   * until the window holds enough of them.
   */
  promptDrift?: DriftSummary;
}

export interface DriftSummary {
  features: { name: string; psi: number; threshold?: number }[];
  predictionPsi?: number;
  windowRows?: number;
}
