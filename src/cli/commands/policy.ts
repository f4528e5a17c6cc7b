import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluatePolicy, formatViolation } from '../../core/policy/evaluate';
import { defaultPolicyText } from '../../core/policy/load';
import { policySarif } from '../../core/policy/sarif';
import { withRegistryLock } from '../../core/registry/lock';
import { RegistryTransaction } from '../../core/registry/transaction';
import { findWorkspaceRoot, POLICY_FILE } from '../../core/workspace/workspace';
import { loadKeyring } from '../../core/signing/keys';
import { UsageError } from '../../core/util/errors';
import { VERSION } from '../../core/version';
import { emit, info, json, parseFormat } from '../output';
import { collect } from '../options';
import { workspaceTrustedKeys } from '../../core/govern/trusted-keys';

export function register(program: Command): void {
  const policy = program.command('policy').description('policy-as-code: .sovereign/policy.yaml');

  policy
    .command('check')
    .description('evaluate the policy over every manifest; each violation points at a manifest line')
    .option('-f, --format <format>', 'text, json or sarif', 'text')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--key <public.pem>', 'extra trusted public key (repeatable)', collect)
    .addHelpText('after', '\nExit status: 0 no violations, 1 violations, 2 usage or I/O error (e.g. a malformed policy).')
    .action(async (opts: { format: string; output?: string; key?: string[] }) => {
      const format = parseFormat(opts.format, ['text', 'json', 'sarif']);
      const root = await findWorkspaceRoot(process.cwd());
      const extraKeys = opts.key?.length ? await loadKeyring(opts.key) : [];
      const report = await evaluatePolicy(root, { extraKeys });
      let text: string;
      if (format === 'json') text = json(report);
      else if (format === 'sarif') text = json(policySarif(report, { toolVersion: VERSION, baseDir: root }));
      else {
        const lines = report.violations.map(formatViolation);
        for (const w of report.waived) lines.push(`${w.violation.file}:${w.violation.line}:${w.violation.column ?? 1}: waived until ${w.exception.expires}: [${w.violation.rule}] ${w.violation.message} (${w.exception.justification})`);
        lines.push(`${report.violations.length} violation(s) in ${report.versionsChecked} version(s)${report.policyExists ? '' : ' (no .sovereign/policy.yaml: default policy; create one with `sovereign policy init`)'}`);
        text = lines.join('\n') + '\n';
      }
      await emit(text, opts.output);
      process.exitCode = report.violations.length ? 1 : 0;
    });

  policy
    .command('init')
    .description('write a documented default .sovereign/policy.yaml and commit it')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { json?: boolean }) => {
      const root = await findWorkspaceRoot(process.cwd());
      // One registry writer at a time (the same lock as registry add/alias/sign).
      await withRegistryLock(root, async () => {
        const exists = await readFile(join(root, POLICY_FILE)).then(() => true, () => false);
        if (exists) throw new UsageError(`${POLICY_FILE} already exists`, 'edit it, or delete it first to start again from the default');
        const tx = new RegistryTransaction(root, { trustedKeys: () => workspaceTrustedKeys(root) });
        try {
          await tx.write(POLICY_FILE, defaultPolicyText());
          const commit = await tx.commit('policy: init default policy');
          if (opts.json) await emit(json({ file: POLICY_FILE, commit }));
          else {
            await emit(`${POLICY_FILE}\n`);
            info(`committed ${commit.slice(0, 8)}; edit the file to tighten it, then run \`sovereign policy check\``);
          }
        } catch (err) {
          await tx.rollback();
          throw err;
        }
      }, { command: 'policy init' });
    });
}
