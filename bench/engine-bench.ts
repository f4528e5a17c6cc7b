/**
 * Engine overhead, in one run on one machine (figures are ratios against the bare libraries measured here):
 *  - tg tokens/s of the supervised engine vs bare node-llama-cpp, same model, same threads (goal >= 0.95);
 *  - tg tokens/s through `sovereign serve` over HTTP (streamed) vs bare node-llama-cpp (goal >= 0.90);
 *  - ONNX wrapper p50 vs bare session.run at batch 1 (goal <= 1.05), plus the IPC path for information;
 *  - a short load test: 32 clients against the tiny model (errors, latency percentiles, engine RSS).
 * The GGUF is generated here (~27 MB F16 llama, random weights) so tokens/s mean something.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postTimed, openTarget } from '../src/core/bench/http';
import { runLoadTest } from '../src/core/bench/load-test';
import { latencySummary } from '../src/core/bench/stats';
import { EngineSupervisor } from '../src/core/engines/supervisor';
import { sha256File } from '../src/core/hash/sha256';
import { getLlamaSafely, importNodeLlamaCpp } from '../src/core/engines/gguf/gguf-engine';
import { OnnxEngine, loadOrt } from '../src/core/engines/onnx/onnx-engine';
import { resolveThreads } from '../src/core/engines/threads';
import { ServeRuntime } from '../src/core/serve/server';
import { writeRandomLlama } from '../test/fixtures/gguf/random-llama';
import { writeTinyLlama } from '../test/fixtures/gguf/tiny-llama';
import { FRAUD_FEATURE_COUNT } from '../test/fixtures/onnx/fraudData';
import { writeMlpClassifier } from '../test/fixtures/onnx/mlpClassifier';
import { median, round, runIfMain } from './util';

const GEN_TOKENS = 96;
const ROUNDS = 5;

/** A llama with random F16 weights: embd 512, 4 layers, 8 heads, ffn 1536 (~13 M parameters, ~27 MB). */
async function writeBenchLlama(path: string): Promise<void> {
  await writeRandomLlama(path, { name: 'bench-llama-13m', embd: 512, layers: 4, heads: 8, ffn: 1536, contextLength: 2048, seed: 12345, scale: 0.08, weightType: 'F16', wordStartTokens: true, outputWithoutEos: true });
}

/** Bare node-llama-cpp in this process: the reference. */
async function bareLlama(path: string, threads: number): Promise<{ tg: () => Promise<number>; dispose: () => Promise<void> }> {
  const { LlamaCompletion } = await importNodeLlamaCpp();
  const llama = await getLlamaSafely(false);
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({ contextSize: 512, sequences: 1, threads: { ideal: threads, min: threads } });
  const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
  let round_ = 0;
  return {
    tg: async () => {
      let first = 0;
      let last = 0;
      let n = 0;
      await completion.generateCompletion(`${round_++ % 10} a`, {
        maxTokens: GEN_TOKENS, temperature: 0, repeatPenalty: false,
        onToken: (tokens) => {
          last = performance.now();
          if (!first) first = last;
          n += tokens.length;
        },
      });
      return (n - 1) / ((last - first) / 1000);
    },
    dispose: async () => {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

async function ggufRatios(path: string, threads: number): Promise<Record<string, unknown>> {
  const bare = await bareLlama(path, threads);
  const engine = new EngineSupervisor({ healthIntervalMs: 0 });
  await engine.start({ path, kind: 'gguf', sha256: await sha256File(path), options: { threads, contextSize: 512, sequences: 1, gpu: false } });
  const runtime = new ServeRuntime(engine, { port: 0, parallel: 1 });
  const { url } = await runtime.listen();
  const target = await openTarget(url, undefined, 1);
  const bareTg: number[] = [];
  const engineTg: number[] = [];
  const httpTg: number[] = [];
  try {
    // Warm-up, then interleaved rounds so drift on a shared machine hits all three alike.
    await bare.tg();
    await engine.complete({ prompt: 'w a', maxTokens: GEN_TOKENS, temperature: 0 });
    for (let r = 0; r < ROUNDS; r++) {
      bareTg.push(await bare.tg());
      // Each path as its consumer sees it: the rate between the first and the last generated token.
      // (Text arrives in chunks: a chunk can hold several tokens, so tokens are counted by the engine.)
      let first = 0;
      let last = 0;
      const e = await engine.complete({ prompt: `${r % 10} a`, maxTokens: GEN_TOKENS, temperature: 0 }, {
        onToken: () => {
          last = performance.now();
          if (!first) first = last;
        },
      });
      engineTg.push((e.generatedTokens - 1) / ((last - first) / 1000));
      const h = await postTimed(target, '/v1/completions', { prompt: `${r % 10} a`, max_tokens: GEN_TOKENS, temperature: 0, stream: true });
      const n = h.usage?.completion_tokens ?? 0;
      httpTg.push((n - 1) / (((h.lastTokenEventMs ?? h.totalMs) - (h.firstEventMs ?? 0)) / 1000));
    }
  } finally {
    target.close();
    await runtime.close();
    await engine.stop();
    await bare.dispose();
  }
  const b = median(bareTg);
  return {
    threads,
    genTokens: GEN_TOKENS,
    bareTgTokPerS: round(b, 1),
    engineTgTokPerS: round(median(engineTg), 1),
    httpTgTokPerS: round(median(httpTg), 1),
    engineVsBare: round(median(engineTg) / b),
    httpVsBare: round(median(httpTg) / b),
    goals: { engineVsBare: '>= 0.95', httpVsBare: '>= 0.90' },
  };
}

async function onnxRatios(path: string): Promise<Record<string, unknown>> {
  const ort = loadOrt();
  const bare = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const wrapper = await OnnxEngine.load(path, { threads: 1, executionProviders: ['cpu'] });
  const engine = new EngineSupervisor({ healthIntervalMs: 0 });
  await engine.start({ path, kind: 'onnx', sha256: await sha256File(path) });
  const row = new Float32Array(FRAUD_FEATURE_COUNT).fill(0.5);
  const feeds = (): Record<string, InstanceType<typeof ort.Tensor>> => ({ features: new ort.Tensor('float32', row, [1, FRAUD_FEATURE_COUNT]) });
  const json = { features: { type: 'float32', dims: [1, FRAUD_FEATURE_COUNT], data: Array.from(row) } };
  const bareMs: number[] = [];
  const wrapMs: number[] = [];
  const jsonMs: number[] = [];
  const ipcMs: number[] = [];
  try {
    for (let i = 0; i < 3000; i++) {
      const measure = i >= 500;
      let t = performance.now();
      await bare.run(feeds());
      if (measure) bareMs.push(performance.now() - t);
      t = performance.now();
      await wrapper.runTensors(feeds());
      if (measure) wrapMs.push(performance.now() - t);
      t = performance.now();
      await wrapper.predict(json);
      if (measure) jsonMs.push(performance.now() - t);
      if (i % 5 === 0) {
        t = performance.now();
        await engine.predict(json);
        if (measure) ipcMs.push(performance.now() - t);
      }
    }
  } finally {
    await engine.stop();
    await wrapper.dispose();
    await bare.release();
  }
  const b = latencySummary(bareMs);
  const w = latencySummary(wrapMs);
  const us = (ms: number): number => round(ms * 1000, 1);
  return {
    batch: 1,
    bareP50Us: us(b.p50),
    bareP99Us: us(b.p99),
    wrapperP50Us: us(w.p50),
    wrapperP99Us: us(w.p99),
    wrapperVsBareP50: round(w.p50 / b.p50),
    jsonPathP50Us: us(latencySummary(jsonMs).p50),
    supervisedIpcP50Us: us(latencySummary(ipcMs).p50),
    goals: { wrapperVsBareP50: '<= 1.05' },
  };
}

/** The load test: 32 clients for 60 s (SOVEREIGN_BENCH_LOAD_SECONDS shortens it for a quick look). */
function loadTestSeconds(): number {
  const s = Number(process.env.SOVEREIGN_BENCH_LOAD_SECONDS);
  return Number.isFinite(s) && s > 0 ? s : 60;
}

async function loadTest(path: string): Promise<Record<string, unknown>> {
  const engine = new EngineSupervisor({ healthIntervalMs: 0 });
  await engine.start({ path, kind: 'gguf', sha256: await sha256File(path), options: { threads: 1, sequences: 2, contextSize: 256 } });
  const runtime = new ServeRuntime(engine, { port: 0, parallel: 2, queue: 64 });
  const { url } = await runtime.listen();
  try {
    const r = await runLoadTest({ url, clients: 32, durationMs: loadTestSeconds() * 1000, sampleMemory: () => engine.rssBytes(), body: (c) => ({ prompt: `Hello ${c}`, max_tokens: 16, temperature: 0 }) });
    return {
      clients: r.clients,
      durationS: round(r.durationS, 1),
      requests: r.requests,
      errors: r.errors,
      errorRate: r.errorRate,
      requestsPerSecond: round(r.requestsPerSecond, 1),
      latencyMs: { p50: round(r.latencyMs.p50, 1), p95: round(r.latencyMs.p95, 1), p99: round(r.latencyMs.p99, 1) },
      engineRssMiB: r.memoryBytes && { start: round(r.memoryBytes.start / 2 ** 20, 1), end: round(r.memoryBytes.end / 2 ** 20, 1), max: round(r.memoryBytes.max / 2 ** 20, 1) },
    };
  } finally {
    await runtime.close();
    await engine.stop();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-engine-bench-'));
  try {
    const big = join(dir, 'bench-llama.gguf');
    await writeBenchLlama(big);
    const tiny = await writeTinyLlama(join(dir, 'tiny.gguf'));
    const onnx = await writeMlpClassifier(join(dir, 'fraud.onnx'));
    const threads = resolveThreads();
    return {
      gguf: await ggufRatios(big, threads),
      onnx: await onnxRatios(onnx.path),
      load32: await loadTest(tiny.path),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(module, run);
