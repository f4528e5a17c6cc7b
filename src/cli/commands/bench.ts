import type { Command } from 'commander';
import { benchTarget } from '../../core/bench/bench-target';
import { renderBench } from '../../core/bench/render';
import { emit, info, json } from '../output';
import { intOption } from '../options';
import { workspaceOrUndefined } from '../workspace';

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark a model (in a supervised engine) or an OpenAI-compatible server: cold load, TTFT, pp/tg tokens/s, latency under load')
    .argument('<model-or-url>', 'a .gguf/.onnx file, a registry manifest, or http://host:port of a server')
    .option('--json [file]', 'write the JSON report to FILE (or to stdout without a file)')
    .option('--save', 'also write the report to .sovereign/benchmarks/NAME/VERSION/<timestamp>.json in the workspace')
    .option('--name <name>', 'model name for --save (default: the manifest name or the model name)')
    .option('--model-version <version>', 'model version for --save (default: the manifest version or "unversioned")')
    .option('--repetitions <n>', 'measured repetitions', intOption('--repetitions', 1, 1000), 5)
    .option('--warmup <n>', 'warm-up runs before measuring', intOption('--warmup', 0, 100), 1)
    .option('--prompt-tokens <n>', 'prompt size for pp', intOption('--prompt-tokens', 1, 1 << 20), 512)
    .option('--gen-tokens <n>', 'tokens generated for tg', intOption('--gen-tokens', 2, 1 << 20), 128)
    .option('--concurrency <n>', 'concurrent clients for the load test (0 skips it)', intOption('--concurrency', 0, 1024), 0)
    .option('--duration <seconds>', 'load test duration', intOption('--duration', 1, 86400), 10)
    .option('--threads <n>', 'engine threads', intOption('--threads', 1, 1024))
    .option('--ctx <n>', 'context size', intOption('--ctx', 16, 1 << 20))
    .option('--token <token>', 'bearer token for a URL target (or SOVEREIGN_SERVE_TOKEN)')
    .addHelpText('after', '\nThe JSON schema ("schema": "sovereign.bench/v1") is documented in docs/bench.md.\nExit status: 0 ok, 1 model refused, 2 usage or I/O error.')
    .action(async (target: string, opts: {
      json?: string | boolean; save?: boolean; name?: string; modelVersion?: string; repetitions: number; warmup: number; promptTokens: number;
      genTokens: number; concurrency: number; duration: number; threads?: number; ctx?: number; token?: string;
    }) => {
      const workspaceRoot = await workspaceOrUndefined();
      const started = Date.now();
      const { report, saved } = await benchTarget({
        target,
        save: opts.save,
        name: opts.name,
        version: opts.modelVersion,
        repetitions: opts.repetitions,
        warmup: opts.warmup,
        promptTokens: opts.promptTokens,
        generateTokens: opts.genTokens,
        concurrency: opts.concurrency,
        durationS: opts.duration,
        threads: opts.threads,
        contextSize: opts.ctx,
        token: opts.token ?? (process.env.SOVEREIGN_SERVE_TOKEN || undefined),
        workspaceRoot,
        onProgress: (m) => {
          if (Date.now() - started > 1000 || !m.startsWith('repetition')) info(`bench: ${m}`);
        },
      });
      if (saved) info(`saved ${saved}`);
      if (typeof opts.json === 'string') {
        await emit(json(report), opts.json);
        await emit(renderBench(report));
      } else {
        await emit(opts.json ? json(report) : renderBench(report));
      }
      process.exitCode = 0;
    });
}
