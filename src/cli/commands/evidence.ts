import type { Command } from 'commander';
import { relative } from 'node:path';
import { writeEvidenceBundle } from '../../core/govern/evidence/write';
import { parseSince } from '../../core/audit/period';
import { locateWorkspace } from '../../core/workspace/workspace';
import { emit, info, json } from '../output';

export function register(program: Command): void {
  program
    .command('evidence')
    .description('write a compliance evidence bundle: models (digests, signatures, scans), policy and exceptions, deployments, the audit log and its verification, every endpoint contacted')
    .option('-o, --output <dir>', 'folder to write (default: sovereign-evidence-YYYY-MM-DD)')
    .option('--since <date>', 'start of the period: a date or a duration back (2025-01-01, 90d)')
    .option('--json', 'print evidence.json to stdout as well as writing the bundle')
    .addHelpText('after', '\nFiles: evidence.json, report.md, report.html, audit.jsonl, policy.yaml, SHA256SUMS.\nExit status: 0 written, 1 written but the audit chain is broken, 2 usage or I/O error.')
    .action(async (opts: { output?: string; since?: string; json?: boolean }) => {
      const now = new Date();
      const since = opts.since ? parseSince(opts.since, now) : undefined;
      const root = (await locateWorkspace()).root;
      const out = opts.output ?? `sovereign-evidence-${now.toISOString().slice(0, 10)}`;
      const bundle = await writeEvidenceBundle(root, out, { since, now });
      const s = bundle.evidence.summary;
      info(`evidence bundle written to ${relative(process.cwd(), bundle.dir) || '.'}: ${bundle.files.join(', ')}`);
      info(bundle.evidence.egress.statement);
      if (s.auditIntact === false) info('the audit log chain is BROKEN: see report.md ("Audit log") and `sovereign audit verify`');
      await emit(opts.json ? json(bundle.evidence) : `${bundle.dir}\n`);
      process.exitCode = s.auditIntact === false ? 1 : 0;
    });
}
