import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTarget, postTimed, type BenchTarget } from '../src/core/bench/http';
import { writeRandomLlama } from '../test/fixtures/gguf/random-llama';
import { writeTinyLlama } from '../test/fixtures/gguf/tiny-llama';
import { llamaServerBinary, LLAMA_SERVER_MISSING, nativeBuildsOf, startLlamaServer, startSovereignServe } from '../test/helpers/llama-server';
import { median, repoRoot, round, runIfMain, writeBenchResult } from './util';

/**
 * Completion latency against the real peer (issue 18): llama.cpp's own llama-server (built from the llama.cpp
 * source node-llama-cpp ships, scripts/llama-server/build.sh) next to `sovereign serve` (dist/cli.js, as users
 * run it: the supervised engine child behind the HTTP runtime), the same model file, 1 thread, one slot.
 * Requests as an editor sends them while typing: `POST /infill` with n_predict 16, the cursor line growing by
 * one character each request (so a server can reuse the evaluated prefix), then `POST /v1/completions` of the
 * same growing prompt (llama-server ignores `suffix` there), max_tokens 16; sequential, the two servers in turn after a warm-up. Reports p50/p95 per server
 * and endpoint, the ratios sovereign/llama-server (goal <= 1.05), the servers' own prompt/generation times
 * and, for /infill, the prompt cache-hit rate (`tokens_cached` / `tokens_evaluated` over the run). Models: the 0.6 MB tiny llama and a 56 MB llama (8 layers, embd 512, F16). Writes
 * bench-results/completion-peers.json. SOVEREIGN_PEERS_REQUESTS (default 60) sets the requests per endpoint,
 * SOVEREIGN_PEERS_MODELS (tiny,llama-56mb) the models, SOVEREIGN_PEERS_CLI another build's dist/cli.js.
 */
export async function run(): Promise<Record<string, unknown>> {
  const bin = llamaServerBinary();
  if (!bin) throw new Error(LLAMA_SERVER_MISSING);
  const root = repoRoot();
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-peers-'));
  const requests = Number(process.env.SOVEREIGN_PEERS_REQUESTS ?? 60);
  const models: Record<string, string> = { tiny: join(dir, 'tiny.gguf'), 'llama-56mb': join(dir, 'llama-56mb.gguf'), 'llama-4x': join(dir, 'llama-4x.gguf') };
  const only = process.env.SOVEREIGN_PEERS_MODELS?.split(',');
  const wanted = (name: string): boolean => !only || only.includes(name);
  if (wanted('tiny')) await writeTinyLlama(models.tiny);
  if (wanted('llama-56mb')) await writeRandomLlama(models['llama-56mb'], { name: 'peers-llama-56mb', embd: 512, layers: 8, heads: 8, ffn: 1536, contextLength: 4096, seed: 4242, scale: 0.08, weightType: 'F16', wordStartTokens: true, outputWithoutEos: true, fim: true });
  // 4x the 56 MB model's parameters: embd 1024 (4x the attention and FFN weights at the same layer count).
  if (wanted('llama-4x')) await writeRandomLlama(models['llama-4x'], { name: 'peers-llama-4x', embd: 1024, layers: 8, heads: 16, ffn: 3072, contextLength: 4096, seed: 4243, scale: 0.05, weightType: 'F16', wordStartTokens: true, outputWithoutEos: true, fim: true });
  const results: Record<string, unknown> = {};
  try {
    for (const [name, path] of Object.entries(models)) {
      if (!wanted(name)) continue;
      process.stderr.write(`completion-peers: ${name}...\n`);
      results[name] = await compare(bin, root, path, requests);
      process.stderr.write(`completion-peers: ${name}: ${JSON.stringify(results[name])}\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const out = { time: new Date().toISOString(), threads: 1, nPredict: 16, requests, results };
  await writeBenchResult('completion-peers', out);
  return out;
}

interface Sample {
  ms: number;
  /** Prompt tokens in all, and those reused from the previous request (`tokens_evaluated`, `tokens_cached`). */
  evaluated?: number;
  cached?: number;
  promptN?: number;
  promptMs?: number;
  predictedN?: number;
  predictedMs?: number;
  text: string;
}

async function compare(bin: string, root: string, model: string, requests: number): Promise<Record<string, unknown>> {
  const peer = await startLlamaServer(bin, model, { threads: 1, ctx: 2048 });
  // SOVEREIGN_PEERS_CLI: another build's dist/cli.js (to compare before and after a change).
  const cli = process.env.SOVEREIGN_PEERS_CLI ?? join(root, 'dist', 'cli.js');
  // Ours twice: on node-llama-cpp's prebuilt binary, and on the native build (the CI's llama-server build, the
  // layout `sovereign engine build` writes) that the engine prefers when one exists.
  const ours = await startSovereignServe(model, { cli, extraArgs: ['--llama-cpp', 'prebuilt'] });
  const oursNative = await startSovereignServe(model, { cli, extraArgs: ['--llama-cpp', 'native'], env: { SOVEREIGN_LLAMA_CPP_BUILDS: nativeBuildsOf(bin) } });
  const targets = { llamaServer: await openTarget(peer.url, undefined, 1), sovereign: await openTarget(ours.url, undefined, 1), sovereignNative: await openTarget(oursNative.url, undefined, 1) };
  try {
    const base = 'import os\nimport sys\n\ndef parse(argv):\n    """Parse the command line."""\n    args = []\n    for a in argv:\n        args.append(a)\n    return args\n\n\ndef main():\n';
    const suffix = '\n\nif __name__ == "__main__":\n    main()\n';
    const line = '    result = parse(sys.argv)  # then print each argument and its length, one per line';
    const infillBody = (i: number): Record<string, unknown> => ({
      input_prefix: base,
      prompt: line.slice(0, 8 + (i % (line.length - 8))),
      input_suffix: suffix,
      input_extra: [],
      n_predict: 16,
      temperature: 0,
      cache_prompt: true,
    });
    // llama-server ignores `suffix` on /v1/completions: a plain completion of the same growing prompt for both.
    const completionsBody = (i: number): Record<string, unknown> => ({ model: 'm', prompt: base + line.slice(0, 8 + (i % (line.length - 8))), max_tokens: 16, temperature: 0, stream: false });
    const endpoints: Record<string, { path: string; body: (i: number) => Record<string, unknown> }> = {
      infill: { path: '/infill', body: infillBody },
      completions: { path: '/v1/completions', body: completionsBody },
    };
    const report: Record<string, unknown> = {};
    for (const [endpoint, { path, body }] of Object.entries(endpoints)) {
      const samples: Record<keyof typeof targets, Sample[]> = { llamaServer: [], sovereign: [], sovereignNative: [] };
      const warmup = 5;
      for (let i = 0; i < warmup + requests; i++) {
        for (const key of Object.keys(targets) as (keyof typeof targets)[]) {
          const s = await timed(targets[key], path, body(i));
          if (i >= warmup) samples[key].push(s);
        }
      }
      const same = samples.llamaServer.filter((s, i) => s.text === samples.sovereign[i].text).length;
      const sameNative = samples.llamaServer.filter((s, i) => s.text === samples.sovereignNative[i].text).length;
      const stats = (xs: Sample[]): Record<string, number | undefined> => {
        const ms = xs.map((s) => s.ms).sort((a, b) => a - b);
        const pick = (f: (s: Sample) => number | undefined): number | undefined => {
          const v = xs.map(f).filter((x): x is number => typeof x === 'number');
          return v.length ? round(median(v)) : undefined;
        };
        const evaluated = xs.reduce((n, s) => n + (s.evaluated ?? 0), 0);
        const cached = xs.reduce((n, s) => n + (s.cached ?? 0), 0);
        return { cacheHitRate: evaluated > 0 && xs.some((s) => s.cached !== undefined) ? round(cached / evaluated) : undefined, p50: round(median(ms)), p95: round(ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.95))]), promptNMedian: pick((s) => s.promptN), promptMsMedian: pick((s) => s.promptMs), predictedNMedian: pick((s) => s.predictedN), predictedMsMedian: pick((s) => s.predictedMs) };
      };
      const a = stats(samples.llamaServer);
      const b = stats(samples.sovereign);
      const c = stats(samples.sovereignNative);
      report[endpoint] = {
        llamaServer: a,
        sovereign: b,
        sovereignNative: c,
        ratioP50: round((b.p50 as number) / (a.p50 as number)),
        ratioP95: round((b.p95 as number) / (a.p95 as number)),
        nativeRatioP50: round((c.p50 as number) / (a.p50 as number)),
        nativeRatioP95: round((c.p95 as number) / (a.p95 as number)),
        sameOutput: `${same}/${requests}`,
        sameOutputNative: `${sameNative}/${requests}`,
      };
    }
    return report;
  } finally {
    targets.llamaServer.close();
    targets.sovereign.close();
    targets.sovereignNative.close();
    await peer.stop();
    await ours.stop();
    await oursNative.stop();
  }
}

async function timed(target: BenchTarget, path: string, body: Record<string, unknown>): Promise<Sample> {
  const t = await postTimed(target, path, body);
  if (t.status !== 200) throw new Error(`${target.url.href}${path} answered ${t.status}: ${t.body.slice(0, 300)}`);
  const reply = JSON.parse(t.body) as { content?: string; choices?: { text?: string }[]; tokens_evaluated?: number; tokens_cached?: number; timings?: { prompt_n?: number; prompt_ms?: number; predicted_n?: number; predicted_ms?: number } };
  return { ms: t.totalMs, evaluated: reply.tokens_evaluated, cached: reply.tokens_cached, text: reply.content ?? reply.choices?.[0]?.text ?? '', promptN: reply.timings?.prompt_n, promptMs: reply.timings?.prompt_ms, predictedN: reply.timings?.predicted_n, predictedMs: reply.timings?.predicted_ms };
}

runIfMain(module, run);
