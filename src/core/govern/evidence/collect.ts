import { VERSION } from '../../version';
import { readAudit, auditFile, AUDIT_FILE, type AuditEntry } from '../../audit/log';
import type { AuditVerification } from '../../audit/verify';
import { verifyWorkspaceAudit } from '../audit-verify';
import { gitState, type GitState } from '../../workspace/git-state';
import { collectDeployments, type DeploymentsEvidence } from './deployments';
import { egressEvidence, type EgressEvidence } from './egress';
import { collectModels, type ModelEvidence } from './models';
import { collectPolicy, type PolicyEvidence } from './policy';
import { checkSignatures } from './signatures';

/** The compliance evidence bundle's content (evidence.json). */
export interface Evidence {
  schema: 'sovereign-evidence/1';
  generatedAt: string;
  generator: { tool: 'sovereign'; version: string };
  workspace: { root: string; git?: GitState };
  period: { since?: string; until: string };
  models: ModelEvidence[];
  policy: PolicyEvidence;
  deployments: DeploymentsEvidence;
  audit: {
    file: string;
    present: boolean;
    verification?: Omit<AuditVerification, 'file'>;
    /** Entries in the period, by action. */
    entriesInPeriod: number;
    byAction: Record<string, number>;
    governedActions: Array<Pick<AuditEntry, 'seq' | 'time' | 'actor' | 'action' | 'subject'>>;
  };
  egress: EgressEvidence;
  /** Headline results: what an auditor reads first. */
  summary: { auditIntact: boolean | null; models: number; signed: number; signatureValid: number; scanned: number; scanFailed: number; policyExceptions: number; expiredExceptions: number; deployments: number | null; outsidePrivate: number; refusedAttempts: number };
}

export interface CollectOptions {
  since?: Date;
  now?: Date;
}

/** Gathers the evidence of a workspace. Reads only; never changes the workspace. */
export async function collectEvidence(root: string, options: CollectOptions = {}): Promise<Evidence> {
  const now = options.now ?? new Date();
  const [models, policy, deployments, git] = await Promise.all([collectModels(root), collectPolicy(root, now), collectDeployments(), gitState(root)]);
  await checkSignatures(root, models);

  let verification: AuditVerification | undefined;
  try {
    verification = await verifyWorkspaceAudit(auditFile(root));
  } catch {
    verification = undefined; // no log yet
  }
  const all = await readAudit(root);
  const inPeriod = options.since ? all.filter((e) => Date.parse(e.time) >= options.since!.getTime()) : all;
  const byAction: Record<string, number> = {};
  for (const e of inPeriod) byAction[e.action] = (byAction[e.action] ?? 0) + 1;
  const governed = inPeriod
    .filter((e) => e.action !== 'completion' && e.action !== 'egress')
    .map(({ seq, time, actor, action, subject }) => ({ seq, time, actor, action, subject }));
  const egress = egressEvidence(inPeriod);

  const { file: _file, ...verificationBody } = verification ?? { file: '' };
  return {
    schema: 'sovereign-evidence/1',
    generatedAt: now.toISOString(),
    generator: { tool: 'sovereign', version: VERSION },
    workspace: { root, git },
    period: { since: options.since?.toISOString(), until: now.toISOString() },
    models,
    policy,
    deployments,
    audit: {
      file: AUDIT_FILE.split('\\').join('/'),
      present: verification !== undefined,
      verification: verification ? (verificationBody as Omit<AuditVerification, 'file'>) : undefined,
      entriesInPeriod: inPeriod.length,
      byAction,
      governedActions: governed,
    },
    egress,
    summary: {
      auditIntact: verification ? verification.ok : null,
      models: models.length,
      signed: models.filter((m) => m.signature.present && !m.signature.fileMissing).length,
      signatureValid: models.filter((m) => m.signature.status === 'valid').length,
      scanned: models.filter((m) => m.scan).length,
      scanFailed: models.filter((m) => m.scan?.verdict === 'fail').length,
      policyExceptions: policy.exceptions.length,
      expiredExceptions: policy.exceptions.filter((e) => e.expired).length,
      deployments: deployments.source === 'unavailable' ? null : deployments.items.length,
      outsidePrivate: egress.outsidePrivate.length,
      refusedAttempts: egress.refusedAttempts,
    },
  };
}
