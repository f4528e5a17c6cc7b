import { basename, dirname, join, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import { verifyAudit, type AuditVerification } from '../audit/verify';
import { AUDIT_FILE } from '../workspace/workspace';
import { workspaceTrustedKeys } from './trusted-keys';

/**
 * Verifies a workspace's audit log against its chain, its committed history in git and its signed checkpoint,
 * with the keys the workspace's policy trusts. `rootOrFile`: the workspace root or the log file itself.
 */
export async function verifyWorkspaceAudit(rootOrFile: string): Promise<AuditVerification> {
  const file = await logFile(rootOrFile);
  const dir = dirname(file);
  const root = basename(dir) === '.sovereign' ? dirname(dir) : undefined;
  return verifyAudit(file, { trustedKeys: root ? () => workspaceTrustedKeys(root) : [] });
}

async function logFile(rootOrFile: string): Promise<string> {
  const p = resolve(rootOrFile);
  try {
    if ((await stat(p)).isDirectory()) return join(p, AUDIT_FILE);
  } catch {
    // a missing path: verifyAudit says so
  }
  return p;
}
