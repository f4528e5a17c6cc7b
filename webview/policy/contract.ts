/** The policy view's message contract. */
import type { ViewContract } from '../shared/ipc';

export interface ViolationRow {
  rule: string;
  severity: 'error' | 'warning';
  message: string;
  fix: string;
  /** Repository-relative file and 1-based line of the manifest (or alias file) it is about. */
  file: string;
  line: number;
  column?: number;
  model?: string;
  version?: string;
  /** The quick fixes the host allows for it (sign: signature rules; exception: any waivable rule). */
  canSign: boolean;
  canRequestException: boolean;
}

export interface WaivedRow extends ViolationRow {
  justification: string;
  expires: string;
  approvedBy?: string;
  /** The exception's `model` (NAME or NAME@VERSION). */
  exceptionFor: string;
}

export interface ProblemRow {
  file: string;
  line: number;
  message: string;
}

export type PolicyState =
  | { kind: 'report'; violations: ViolationRow[]; waived: WaivedRow[]; problems: ProblemRow[]; policyFile: string; policyExists: boolean; policyError?: string; today: string }
  | { kind: 'empty'; message: string }
  | { kind: 'loading' };

export interface PolicyContract extends ViewContract {
  host: {
    openLocation: (params: { file: string; line: number; column?: number }) => boolean;
    /** Runs `sovereign.signModel` with NAME@VERSION. */
    signModel: (params: { model: string; version: string }) => void;
    /** Runs `sovereign.requestException` with the model and the rule. */
    requestException: (params: { model: string; rule: string }) => void;
    refresh: (params: undefined) => void;
  };
  toWebview: { state: PolicyState };
  toHost: Record<string, never>;
}

export interface PolicyViewState {
  collapsed: string[];
  showWaived: boolean;
}
