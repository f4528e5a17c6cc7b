import type { Command } from 'commander';
import { relative } from 'node:path';
import { reportBlocks, scanPaths, toScanJson } from '../../core/scan/scanner';
import { toSarif } from '../../core/scan/sarif';
import { renderScanText } from '../../core/scan/render';
import { VERSION } from '../../core/version';
import { locateWorkspace } from '../../core/workspace/workspace';
import { emit, json, parseFormat } from '../output';
import { Progress } from '../progress';
import { workspaceOrUndefined } from '../workspace';
import { loadPolicy } from '../../core/policy/load';
import { policyRuleFiles } from '../../core/policy/scan-rules';

export function register(program: Command): void {
  program
    .command('scan')
    .description('scan model files or folders for supply-chain risks (pickle code, malformed headers, path traversal...)')
    .argument('<paths...>', 'files or folders (recursive)')
    .option('-f, --format <format>', 'text, json or sarif', 'text')
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('-v, --verbose', 'list every finding, not only high and critical ones')
    .addHelpText('after', '\nExit status: 0 nothing high/critical, 1 high/critical findings, 2 usage or I/O error.')
    .action(async (paths: string[], opts: { format: string; output?: string; verbose?: boolean }) => {
      const format = parseFormat(opts.format, ['text', 'json', 'sarif']);
      let progress: Progress | undefined;
      // Inside a governed workspace the policy's rule packs (scan.yara_rules) run with the default pack.
      const root = await workspaceOrUndefined();
      const extraRules = root ? await policyRuleFiles(root, (await loadPolicy(root)).policy) : [];
      const report = await scanPaths(paths, {
        extraRules,
        onFile: (path, i, total) => {
          progress ??= new Progress('scanning', total);
          progress.update(i, relative(process.cwd(), path));
        },
      });
      progress?.stop();
      const text =
        format === 'json' ? json(toScanJson(report))
        : format === 'sarif' ? json(toSarif(report, { toolVersion: VERSION, baseDir: (await locateWorkspace(process.cwd())).root }))
        : renderScanText(report, opts.verbose);
      await emit(text, opts.output);
      process.exitCode = reportBlocks(report) ? 1 : 0;
    });
}
