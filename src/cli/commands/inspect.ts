import type { Command } from 'commander';
import { analyzeSource, FileSource } from '../../core/formats';
import { renderFacts } from '../../core/formats/render';
import { isBlocking } from '../../core/formats/findings';
import { emit, json } from '../output';

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show what a model file is: format, architecture, parameters, quantization, context length, FIM support, tensors, opsets...')
    .argument('<file>')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExit status: 0 a valid file, 1 a malformed or unrecognised file, 2 usage or I/O error.')
    .action(async (file: string, opts: { json?: boolean }) => {
      const source = await FileSource.open(file);
      try {
        const analysis = await analyzeSource(source);
        const invalid = analysis.format === 'unknown' || analysis.findings.some((f) => isBlocking(f.severity));
        if (opts.json) {
          await emit(json({ path: file, size: source.size, format: analysis.format, facts: analysis.facts, findings: analysis.findings }));
        } else {
          await emit(renderFacts(file, source.size, analysis));
        }
        process.exitCode = invalid ? 1 : 0;
      } finally {
        await source.close();
      }
    });
}
