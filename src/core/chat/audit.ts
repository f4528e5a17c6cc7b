/**
 * A chat turn in the workspace's audit log: who answered, how many tokens, how long; never the text
 * (`chat` is a metadata-only action: src/core/audit/actions.ts drops every other detail).
 */
import { appendAudit } from '../audit';
import type { ChatTarget, ChatTurnResult } from './types';

export interface ChatTurnSummary {
  /** playground, compare, lm-api (VS Code's language-model API). */
  surface: 'playground' | 'compare' | 'lm-api';
  target: ChatTarget;
  result: ChatTurnResult;
}

export function chatTurnDetails(s: ChatTurnSummary): Record<string, unknown> {
  const r = s.result;
  return {
    surface: s.surface,
    model: s.target.label,
    ...(s.target.digest ? { modelDigest: s.target.digest } : {}),
    backend: s.target.local ? 'local' : 'http',
    endpoint: s.target.url,
    promptTokens: r.promptTokens,
    completionTokens: r.completionTokens,
    firstTokenMs: r.ttftMs !== undefined ? Math.round(r.ttftMs) : undefined,
    latencyMs: Math.round(r.totalMs),
    finish: r.finish,
    redactions: r.redactions,
    ...(r.error ? { error: r.error.slice(0, 300) } : {}),
  };
}

/** Appends the `chat` entry; a log that cannot be written is the caller's to report (it throws). */
export async function auditChatTurn(workspaceRoot: string, summary: ChatTurnSummary): Promise<void> {
  await appendAudit(workspaceRoot, { action: 'chat', subject: summary.target.label, details: chatTurnDetails(summary) });
}
