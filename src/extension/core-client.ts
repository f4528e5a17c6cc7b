/**
 * The one way from the extension into the core's services. Work that is cheap or asynchronous I/O runs in
 * process (dockerode talks to the Docker socket asynchronously; a benchmark or an evaluation orchestrates a
 * model that runs in the supervised engine process); CPU-heavy work (hashing, scanning, registry snapshots)
 * goes to the core worker (`worker`, promise RPC). The results are the core's own types: the same services,
 * options and results as the `sovereign` CLI's commands, never a forked CLI or a copied JSON shape.
 */
import * as vscode from 'vscode';
import { Writable } from 'node:stream';
// The services below load when first called (dynamic import: evaluated on first use, not when the workbench loads):
// deployments (dockerode, tar), benchmarks (the serving runtime, prom-client), evaluation (csv-parse), OCI transfer.
import type { BenchedTarget, BenchTargetOptions } from '../core/bench/bench-target';
import type { CanaryReport, PruneResult, RemoveResult, StagingResult, SwitchOutcome } from '../core/deploy';
import type { EvaluatedRef, EvaluateRefOptions } from '../core/eval/evaluate-ref';
import type { OciConnectOptions, PullResult, PushOptions, PushResult } from '../core/govern/oci-transfer';
import type { WorkerClient } from '../core/worker/client';
import { describeError } from '../core/util/errors';
import { findWorkspaceRoot } from '../core/workspace/workspace';

/** What every long call takes: a progress line callback and a signal from the UI's cancel button. */
export interface CallOptions {
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
  /** The workspace (registry) the call works in; default: the extension's default workspace. */
  root?: string;
}

export interface CoreClient {
  /** CPU-heavy work in the core worker (hashing, scanning, registry snapshots). */
  readonly worker: WorkerClient;
  deployStaging(ref: string, call?: CallOptions): Promise<StagingResult>;
  deployCanary(ref: string, call?: CallOptions): Promise<CanaryReport>;
  promote(model: string): Promise<SwitchOutcome>;
  rollback(model: string, reason: string): Promise<SwitchOutcome>;
  removeDeployments(model: string): Promise<RemoveResult>;
  pruneImages(dryRun: boolean): Promise<PruneResult>;
  /** Streams a deployment's output (the stable version unless `version`) until it stops or `signal` aborts. */
  followLogs(model: string, version: string | undefined, write: (text: string) => void, signal: AbortSignal): Promise<void>;
  bench(options: Omit<BenchTargetOptions, 'workspaceRoot' | 'onProgress' | 'signal'>, call?: CallOptions): Promise<BenchedTarget>;
  evaluate(options: Omit<EvaluateRefOptions, 'workspaceRoot' | 'onProgress' | 'signal'>, call?: CallOptions): Promise<EvaluatedRef>;
  /** `sovereign push`: network I/O in process (requests checked by the egress guard, bodies streamed). */
  pushToOci(model: string, destination: string, options: OciCallOptions, call?: CallOptions): Promise<PushResult>;
  /** `sovereign pull`: the gate, then one registry commit. */
  pullFromOci(source: string, options: OciCallOptions, call?: CallOptions): Promise<PullResult>;
}

export type OciCallOptions = Pick<PushOptions, 'caFile' | 'insecure' | 'credentials' | 'mountFrom'>;

function ociProgress(call: CallOptions): Pick<OciConnectOptions, 'onStage' | 'onProgress' | 'signal'> {
  let lastPct = -1;
  return {
    signal: call.signal,
    onStage: (stage, detail) => call.onProgress?.(`${stage}${detail ? `: ${detail}` : ''}`),
    onProgress: (done, total, what) => {
      const pct = Math.floor((done / Math.max(total, 1)) * 100);
      if (pct === lastPct || pct % 5 !== 0) return;
      lastPct = pct;
      call.onProgress?.(`${what}: ${pct}%`);
    },
  };
}

/**
 * @param workspaceRoot the extension's default workspace (the registry and audit log of the first folder that has
 *   one), for calls that name none (`CallOptions.root`); deployments need one, as `sovereign deploy` does.
 */
export function createCoreClient(worker: WorkerClient, workspaceRoot: () => Promise<string | undefined>): CoreClient {
  const governed = async (): Promise<string> => (await workspaceRoot()) ?? findWorkspaceRoot(process.cwd());
  const deploy = (): Promise<typeof import('../core/deploy')> => import('../core/deploy/index.js');
  return {
    worker,
    async deployStaging(ref, call = {}) {
      const root = call.root ?? (await governed());
      const { deployStaging, baseImageSetting } = await deploy();
      return deployStaging({ root, ref, baseImage: await baseImageSetting(root), log: call.onProgress, signal: call.signal });
    },
    async deployCanary(ref, call = {}) {
      const root = call.root ?? (await governed());
      const { runCanary, baseImageSetting } = await deploy();
      return runCanary({ root, ref, baseImage: await baseImageSetting(root), log: call.onProgress, signal: call.signal });
    },
    async promote(model) {
      const { promote } = await deploy();
      return promote({ root: await governed(), model });
    },
    async rollback(model, reason) {
      const { rollback } = await deploy();
      return rollback({ root: await governed(), model, reason });
    },
    removeDeployments: async (model) => (await deploy()).removeModelDeployments({ model }),
    pruneImages: async (dryRun) => (await deploy()).pruneImages({ dryRun }),
    async followLogs(model, version, write, signal) {
      const { deploymentForLogs, streamLogs, connectDocker } = await deploy();
      const d = await deploymentForLogs(model, version);
      const sink = (): Writable => new Writable({ write: (chunk: Buffer, _enc, done) => (write(chunk.toString()), done()) });
      await streamLogs(await connectDocker(), d.containerId, { follow: true, tail: 200, stdout: sink(), stderr: sink(), signal });
    },
    async bench(options, call = {}) {
      const { benchTarget } = await import('../core/bench/bench-target.js');
      return benchTarget({
        token: process.env.SOVEREIGN_SERVE_TOKEN || undefined,
        ...options,
        workspaceRoot: call.root ?? (await workspaceRoot()),
        onProgress: call.onProgress,
        signal: call.signal,
      });
    },
    async pushToOci(model, destination, options, call = {}) {
      const { pushVersion } = await import('../core/govern/oci-transfer.js');
      return pushVersion(await governed(), model, destination, { ...options, ...ociProgress(call) });
    },
    async pullFromOci(source, options, call = {}) {
      const { pullArtifact } = await import('../core/govern/oci-transfer.js');
      return pullArtifact(await governed(), source, { ...options, ...ociProgress(call) });
    },
    async evaluate(options, call = {}) {
      const { evaluateRef } = await import('../core/eval/evaluate-ref.js');
      return evaluateRef({
        ...options,
        workspaceRoot: call.root ?? (await workspaceRoot()),
        onProgress: call.onProgress && ((done, total) => call.onProgress?.(`${done}/${total} rows`)),
        signal: call.signal,
      });
    },
  };
}

/**
 * Runs a core call under a cancellable notification: the core's progress lines become its message, the cancel
 * button aborts the call's signal. A failure is shown (`Sovereign: TITLE failed: ...`, with the log) and gives
 * undefined; so does a cancellation (`Sovereign: TITLE cancelled.`).
 */
export async function withCoreProgress<T>(services: { log: vscode.LogOutputChannel }, title: string, run: (call: CallOptions) => Promise<T>): Promise<T | undefined> {
  const tag = `[${title}]`;
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      const onProgress = (line: string): void => {
        services.log.info(`${tag} ${line}`);
        progress.report({ message: line.slice(0, 120) });
      };
      return run({ onProgress, signal: controller.signal }).finally(() => sub.dispose());
    });
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') {
      services.log.info(`${tag} cancelled`);
      void vscode.window.showInformationMessage(`Sovereign: ${title} cancelled.`);
      return undefined;
    }
    const message = describeError(err);
    services.log.error(`${tag} ${message}`);
    void vscode.window.showErrorMessage(`Sovereign: ${title} failed: ${message.split('\n')[0]}`, 'Show Log').then((c) => c && services.log.show());
    return undefined;
  }
}
