/** The workspace the CLI runs in: the one lookup of src/core/workspace, as the commands need it. */
import { appendAudit } from '../core/audit/log';
import { governedWorkspace } from '../core/workspace/workspace';

/** The governed workspace around the current folder, if any (its policy and audit log apply). */
export function workspaceOrUndefined(): Promise<string | undefined> {
  return governedWorkspace();
}

/** Audits when run inside a governed workspace; any other folder or repository is left untouched. */
export async function auditInWorkspace(event: { action: string; subject?: string; details?: Record<string, unknown> }): Promise<void> {
  const root = await governedWorkspace();
  if (root) await appendAudit(root, event);
}
