import type { ScanReport } from '../scan/scanner';
import type { FormatAnalysis } from '../formats/types';
import type { PolicyDecision } from '../policy/gate';
import type { AuditVerification } from '../audit/verify';
import type { AliasResult, VersionVerification } from '../govern/ops';
import type { registerModel, RegistrySnapshot } from './registry-methods';
import type { SignVersionResult } from '../govern/sign-version';
import type { benchmarkRuns, lineageLayout } from './webview-methods';

/**
 * The methods the core worker thread serves. Heavy work (hashing, scanning, parsing) runs there so the
 * VS Code extension host thread never blocks.
 */
export interface WorkerMethods {
  hash: (path: string) => string;
  scan: (paths: string[]) => ScanReport;
  inspect: (path: string) => FormatAnalysis & { size: number };
  /** The policy gate for a model file (hashes and scans it: heavy). */
  checkModelFile: (workspaceRoot: string | undefined, path: string) => PolicyDecision;
  registrySnapshot: (root: string) => RegistrySnapshot;
  registerModel: (root: string, options: Parameters<typeof registerModel>[1]) => Awaited<ReturnType<typeof registerModel>>;
  setAlias: (root: string, ref: string, alias: string) => AliasResult;
  verifyVersion: (root: string, ref: string) => VersionVerification;
  verifyAudit: (root: string) => AuditVerification;
  signVersion: (root: string, ref: string, privateKeyPem: string) => SignVersionResult;
  /** Webviews: the lineage layout (dagre per family, cached in the worker) and the stored benchmark reports. */
  lineageLayout: typeof lineageLayout;
  benchmarkRuns: (root: string) => Awaited<ReturnType<typeof benchmarkRuns>>;
  /** Writes the compliance evidence bundle; returns the folder and the files written. */
  writeEvidence: (root: string, outDir: string) => { dir: string; files: string[]; auditOk: boolean | undefined };
}

export type WorkerMethod = keyof WorkerMethods;

export interface WorkerRequest<M extends WorkerMethod = WorkerMethod> {
  id: number;
  method: M;
  args: Parameters<WorkerMethods[M]>;
}

export type WorkerReply =
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; message: string }
  | { id: number; kind: 'progress'; message: string; fraction?: number };
