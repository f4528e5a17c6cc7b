import { appendAudit } from '../audit/log';

/**
 * Deployment events go to the workspace's hash-chained audit log. The engine change has already happened
 * when this runs, so a log that cannot be written is reported (returned, and printed by the CLI) rather
 * than undoing a working deployment.
 */
export async function auditDeploy(root: string, action: 'deploy' | 'canary' | 'promote' | 'rollback', subject: string, details: Record<string, unknown>): Promise<string | undefined> {
  try {
    await appendAudit(root, { action, subject, details });
    return undefined;
  } catch (err) {
    return `the audit log could not be written: ${(err as Error).message}`;
  }
}
