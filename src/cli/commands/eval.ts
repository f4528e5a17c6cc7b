import type { Command } from 'commander';
import type { EvalReport } from '../../core/eval/evaluate';
import { evaluateRef } from '../../core/eval/evaluate-ref';
import { emit, info, json } from '../output';
import { Progress } from '../progress';
import { workspaceOrUndefined } from '../workspace';

function render(r: EvalReport): string {
  const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
  const width = Math.max(8, ...r.labels.map((l) => l.length + 2));
  const lines = [
    `model      ${r.model.path} (output ${r.model.output})`,
    `data       ${r.data.path}: ${r.rows} rows, label ${r.data.label}`,
    `accuracy   ${pct(r.accuracy)}   error rate ${pct(r.errorRate)}   macro F1 ${r.macroF1.toFixed(4)}`,
    '',
    'confusion (rows: actual, columns: predicted)',
    ' '.repeat(width) + r.labels.map((l) => l.padStart(width)).join(''),
    ...r.confusion.map((row, i) => r.labels[i].padEnd(width) + row.map((v) => String(v).padStart(width)).join('')),
    '',
    'class'.padEnd(width) + 'precision'.padStart(11) + 'recall'.padStart(9) + 'f1'.padStart(8) + 'support'.padStart(9),
    ...r.perClass.map((c) => c.label.padEnd(width) + c.precision.toFixed(4).padStart(11) + c.recall.toFixed(4).padStart(9) + c.f1.toFixed(4).padStart(8) + String(c.support).padStart(9)),
    '',
    `latency    batch 1: p50 ${r.latency.batch1Ms.p50.toFixed(3)} ms, p95 ${r.latency.batch1Ms.p95.toFixed(3)} ms, p99 ${r.latency.batch1Ms.p99.toFixed(3)} ms; ${r.latency.rowsPerSecond.toFixed(0)} rows/s batched`,
  ];
  return lines.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate an ONNX classifier on labelled validation data: accuracy, error rate, confusion matrix, per-class precision/recall, latency')
    .argument('<model>', 'an .onnx model, a registry manifest, or NAME@VERSION of the workspace registry')
    .requiredOption('--data <file>', 'validation data: .csv (header row) or .jsonl')
    .requiredOption('--label <column>', 'the column (or JSON field) holding the true class')
    .option('--features <columns>', 'comma-separated feature columns (default: every other column, or the "features" array)')
    .option('--output <name>', 'the model output holding the prediction (default: an integer label output, else the first)')
    .option('--categorical <columns>', 'comma-separated features to treat as categorical in the drift baseline (default: integer features with at most 10 values)')
    .option('--no-save', 'for a registered model: do not store the report and the drift baseline under .sovereign/evals/')
    .option('--json [file]', 'write the JSON report to FILE (or to stdout without a file)')
    .addHelpText('after', '\nFor a registered version (NAME@VERSION or its manifest) inside a workspace, the report and the validation set\'s\ndrift baseline are committed to .sovereign/evals/NAME/VERSION/ (docs/drift.md); `sovereign drift` compares live data with it.\nExit status: 0 ok, 1 model refused, 2 usage or I/O error.')
    .action(async (model: string, opts: { data: string; label: string; features?: string; output?: string; categorical?: string; save: boolean; json?: string | boolean }) => {
      let progress: Progress | undefined;
      const workspaceRoot = await workspaceOrUndefined();
      const split = (list: string | undefined): string[] | undefined => list?.split(',').map((s) => s.trim()).filter(Boolean);
      const { report, saved } = await evaluateRef({
        model,
        data: opts.data,
        label: opts.label,
        features: split(opts.features),
        output: opts.output,
        categorical: split(opts.categorical),
        save: opts.save,
        workspaceRoot,
        onProgress: (done, total) => {
          progress ??= new Progress('evaluating', total);
          progress.update(done);
        },
      });
      progress?.stop();
      if (saved) info(`stored ${saved.report} and the drift baseline ${saved.baseline} (commit ${saved.commit.slice(0, 8)})`);
      if (typeof opts.json === 'string') {
        await emit(json(report), opts.json);
        await emit(render(report));
      } else {
        await emit(opts.json ? json(report) : render(report));
      }
      process.exitCode = 0;
    });
}
