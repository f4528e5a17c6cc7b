import type { Command } from 'commander';
import { lineageOf } from '../../core/registry/lineage';
import { loadRegistry } from '../../core/registry/read';
import { findWorkspaceRoot } from '../../core/workspace/workspace';
import { emit, json } from '../output';

export function register(program: Command): void {
  program
    .command('lineage')
    .description('ancestors (parents, datasets) and descendants (derived versions) of a model version')
    .argument('<ref>', 'NAME (latest), NAME@VERSION or NAME@ALIAS')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExit status: 0 ok, 2 usage or I/O error (e.g. unknown model).')
    .action(async (ref: string, opts: { json?: boolean }) => {
      const reg = await loadRegistry(await findWorkspaceRoot(process.cwd()));
      const report = lineageOf(reg, ref);
      if (opts.json) {
        await emit(json(report));
        return;
      }
      const strip = (id: string): string => id.replace(/^(model|dataset|artifact):/, '');
      const lines = [strip(report.model)];
      lines.push('ancestors:', ...(report.ancestors.length ? report.ancestors.map((a) => `${'  '.repeat(a.depth)}${strip(a.id)}  (${a.relation})`) : ['  (none)']));
      lines.push('descendants:', ...(report.descendants.length ? report.descendants.map((d) => `${'  '.repeat(d.depth)}${strip(d.id)}  (${d.relation})`) : ['  (none)']));
      await emit(lines.join('\n') + '\n');
    });
}
