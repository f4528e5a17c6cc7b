import type { Command } from 'commander';
import { fitModel, type FitReport } from '../../core/bench/fit';
import { emit, info, json } from '../output';
import { intOption } from '../options';
import { workspaceOrUndefined } from '../workspace';

const gib = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 1024 ** 3).toFixed(2)} GiB`);

function render(r: FitReport): string {
  const m = r.memory;
  const lines = [
    `model      ${r.model.path} (${r.model.format}${r.model.architecture ? `, ${r.model.architecture}` : ''}${r.model.trainContext ? `, trained for ${r.model.trainContext} tokens` : ''})`,
    r.context !== undefined ? `context    ${r.context} tokens` : undefined,
    `needs      ${gib(m.totalBytes)} = weights ${gib(m.weightsBytes)} + KV cache ${gib(m.kvCacheBytes)} + compute/overhead ${gib(m.computeBytes)}${m.engineBytes !== undefined ? ` (engine process ${gib(m.engineBytes)}, compute buffers ${gib(m.computeBufferBytes)}, output ${gib(m.outputBufferBytes)})` : ''}`,
    `RAM        ${gib(r.available.ramBytes)} available: ${r.fits.ram ? 'fits' : 'does NOT fit'}${r.maxContext ? `; largest context that fits: ${r.maxContext.ram}` : ''}`,
    r.available.vramBytes !== undefined ? `VRAM       ${gib(r.available.vramBytes)} free: ${r.fits.vram ? 'fits' : 'does NOT fit'}${r.maxContext?.vram !== undefined ? `; largest context that fits: ${r.maxContext.vram}` : ''}` : 'VRAM       no GPU found',
  ];
  return lines.filter(Boolean).join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('fit')
    .description('will a model run here? memory needed (weights + KV cache + overhead) vs available RAM/VRAM, and the largest context that fits')
    .argument('<model>', 'a .gguf or .onnx model')
    .option('--context <n>', 'context size in tokens (default: the model\'s training context)', intOption('--context', 1, 1 << 24))
    .option('--no-flash-attention', 'estimate without flash attention (llama.cpp enables it by default where the backend supports it)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExit status: 0 it fits in RAM (or VRAM), 1 it does not fit or the model is invalid, 2 usage or I/O error.')
    .action(async (model: string, opts: { context?: number; json?: boolean; flashAttention: boolean }) => {
      const report = await fitModel(model, opts.context, { workspaceRoot: await workspaceOrUndefined(), flashAttention: opts.flashAttention });
      for (const w of report.warnings) info(`warning: ${w}`);
      await emit(opts.json ? json(report) : render(report));
      process.exitCode = report.fits.ram || report.fits.vram ? 0 : 1;
    });
}
