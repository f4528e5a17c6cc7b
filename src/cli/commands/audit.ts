import type { Command } from 'commander';
import { auditFile, readAudit, type AuditEntry } from '../../core/audit/log';
import { parseSince } from '../../core/audit/period';
import type { AuditVerification } from '../../core/audit/verify';
import { verifyWorkspaceAudit } from '../../core/govern/audit-verify';
import { locateWorkspace } from '../../core/workspace/workspace';
import { IoError, UsageError } from '../../core/util/errors';
import { emit, info, json } from '../output';

/** verifyWorkspaceAudit with a missing log turned into a message that says how a log comes to exist. */
async function verifyOrExplain(file: string): Promise<AuditVerification> {
  try {
    return await verifyWorkspaceAudit(file);
  } catch (err) {
    if (err instanceof IoError && /no such file/.test(err.message)) {
      throw new IoError(`no audit log at ${file}`, 'governed actions (sovereign registry add, sign, alias, deploy...) create it; or pass --file');
    }
    throw err;
  }
}

export function describeVerification(v: AuditVerification): string {
  let out: string;
  const chainOk = v.chainOk ?? v.ok;
  if (chainOk) {
    out = v.entries === 0 ? `audit log ${v.file} is empty\n` : `audit log ${v.ok ? 'intact' : 'chain intact'}: ${v.entries} entries, head seq ${v.head?.seq} ${v.head?.hash} (${v.head?.time})\n`;
  } else {
    const bad = v.firstBad!;
    out =
      `audit log BROKEN: ${v.file} line ${bad.line}${bad.seq !== undefined ? ` (seq ${bad.seq})` : ''}: ${bad.reason}\n` +
      (v.head ? `  the chain is intact up to seq ${v.head.seq} (${v.head.time}); entries from line ${bad.line} on cannot be trusted\n` : '  no entry before it verifies\n');
  }
  if (v.history && !v.history.ok) out += `audit log TRUNCATED OR REWRITTEN (git history): ${v.history.reason}\n`;
  else if (v.history?.checked) out += `  matches its ${v.history.checked} committed version(s) in git (last committed head seq ${v.history.committedHead?.seq})\n`;
  if (v.checkpoint?.present && !v.checkpoint.ok) out += `audit log CHECKPOINT FAILED (${v.checkpoint.file}): ${v.checkpoint.reason}\n`;
  else if (v.checkpoint?.present) out += `  signed checkpoint at seq ${v.checkpoint.seq} by key ${v.checkpoint.keyId?.slice(0, 16)}... verifies\n`;
  return out;
}

function detailsText(details: Record<string, unknown> | undefined): string {
  if (!details) return '';
  return Object.entries(details)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

export function register(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log of governed actions (.sovereign/audit.jsonl)');

  audit
    .command('verify')
    .description('check the hash chain (any edited, removed, inserted or reordered entry is reported with its line), that every committed version of the log in git is still its prefix (a cut end is reported with the first missing seq), and the signed checkpoint when there is one')
    .option('--file <file>', 'the log to check (default: .sovereign/audit.jsonl of the workspace)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExit status: 0 intact, 1 broken (the first bad line is named), 2 usage error or no log.')
    .action(async (opts: { file?: string; json?: boolean }) => {
      const file = opts.file ?? auditFile((await locateWorkspace()).root);
      const v = await verifyOrExplain(file);
      await emit(opts.json ? json(v) : describeVerification(v));
      process.exitCode = v.ok ? 0 : 1;
    });

  audit
    .command('show')
    .description('list audit entries (newest last), marking those after a break in the chain')
    .option('--file <file>', 'the log to read (default: .sovereign/audit.jsonl of the workspace)')
    .option('--action <action>', 'only this action (register, sign, egress-refused...)')
    .option('--since <date>', 'only entries from this date or duration back (2025-01-31, 7d, 12h)')
    .option('--limit <n>', 'only the last N entries')
    .option('--json', 'print {verification, entries} as JSON')
    .addHelpText('after', '\nExit status: 0 (1 when the chain is broken), 2 usage error or no log.')
    .action(async (opts: { file?: string; action?: string; since?: string; limit?: string; json?: boolean }) => {
      const since = opts.since ? parseSince(opts.since) : undefined;
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
        throw new UsageError(`--limit ${opts.limit} is not a positive whole number`, 'e.g. --limit 50');
      }
      const root = (await locateWorkspace()).root;
      const file = opts.file ?? auditFile(root);
      const verification = await verifyOrExplain(file);
      let entries: AuditEntry[] = await readAudit(root, { file, action: opts.action, since });
      if (limit !== undefined) entries = entries.slice(-limit);
      // After a break in the chain, or from the first committed entry that was changed, nothing is trusted.
      const badSeqFrom = verification.ok ? Infinity : verification.chainOk !== false && verification.history?.firstChanged ? verification.history.firstChanged : (verification.head?.seq ?? 0) + 1;
      if (!verification.ok) info(describeVerification(verification).trimEnd());
      if (opts.json) {
        await emit(json({ verification, entries: entries.map((e) => ({ ...e, trusted: e.seq < badSeqFrom })) }));
      } else {
        const lines = entries.map((e) => {
          const mark = e.seq >= badSeqFrom ? '!' : ' ';
          return `${mark} ${String(e.seq).padStart(5)} ${e.time} ${e.action.padEnd(16)} ${e.subject ?? ''}  ${e.actor}${e.details ? `  ${detailsText(e.details)}` : ''}`;
        });
        await emit(lines.length ? lines.join('\n') + '\n' : '');
        if (!lines.length) info('no entries match');
      }
      process.exitCode = verification.ok ? 0 : 1;
    });
}
