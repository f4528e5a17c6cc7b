/**
 * `sovereign bench`: the numbers people compare models and machines by, in one JSON document with a stable
 * schema (docs/bench.md): cold load, time to first token, prompt processing (pp) and generation (tg) tokens/s as
 * mean +- stddev over repetitions after a warm-up (llama-bench's method), and latency percentiles and error rate
 * under N concurrent clients, against the embedded engine or any OpenAI-compatible URL.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openEngine } from '../engines';
import type { EngineSupervisor } from '../engines/supervisor';
import type { JsonTensor, ModelDescription } from '../engines/types';
import { ServeRuntime } from '../serve/server';
import { guardedFetch } from '../net/egress';
import { ioError } from '../util/errors';
import { VERSION } from '../version';
import { openTarget, postTimed } from './http';
import { runLoadTest, type LoadTestResult } from './load-test';
import { machineFacts, type MachineFacts } from './machine';
import { latencySummary, meanStd, type LatencySummary, type MeanStd } from './stats';

export const BENCH_SCHEMA = 'sovereign.bench/v1';

export interface BenchReport {
  schema: typeof BENCH_SCHEMA;
  createdAt: string;
  tool: { name: 'sovereign'; version: string };
  target: { kind: 'model' | 'url'; path?: string; url?: string; name: string; format?: string; sha256?: string; sizeBytes?: number };
  machine: MachineFacts;
  engine?: { threads: number; contextSize?: number; sequences?: number; gpu?: string | false; gpuLayers?: number; executionProviders?: string[]; versions: Record<string, string> };
  settings: { repetitions: number; warmup: number; promptTokens: number; generateTokens: number; concurrency: number; durationS: number };
  results: {
    /** Validation + process start + native load, wall clock. */
    coldLoadMs?: number;
    /** The native load alone, measured in the engine process. */
    modelLoadMs?: number;
    validationMs?: number;
    ttftMs?: MeanStd;
    pp?: { tokens: number; tokensPerSecond: MeanStd };
    tg?: { tokens: number; tokensPerSecond: MeanStd };
    /** ONNX: one-row predictions through the engine process. */
    predict?: { batch: number; latencyMs: LatencySummary };
    load?: LoadTestResult;
    engineRssBytes?: number;
  };
}

export interface BenchOptions {
  /** A model file (validated, run in a supervised engine) or an http(s) URL of an OpenAI-compatible server. */
  target: string;
  repetitions?: number;
  warmup?: number;
  promptTokens?: number;
  generateTokens?: number;
  /** Concurrent clients for the load test; 0 skips it. */
  concurrency?: number;
  durationS?: number;
  threads?: number;
  contextSize?: number;
  token?: string;
  workspaceRoot?: string;
  onProgress?: (message: string) => void;
  /** Stops at the next step (each reported by onProgress); the engine process is stopped. */
  signal?: AbortSignal;
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const settings = {
    repetitions: options.repetitions ?? 5,
    warmup: options.warmup ?? 1,
    promptTokens: options.promptTokens ?? 512,
    generateTokens: options.generateTokens ?? 128,
    concurrency: options.concurrency ?? 0,
    durationS: options.durationS ?? 10,
  };
  const base = { schema: BENCH_SCHEMA as typeof BENCH_SCHEMA, createdAt: new Date().toISOString(), tool: { name: 'sovereign' as const, version: VERSION }, machine: await machineFacts(), settings };
  if (/^https?:\/\//i.test(options.target)) return { ...base, ...(await benchUrl(options, settings)) };
  return { ...base, ...(await benchModel(options, settings)) };
}

type Settings = BenchReport['settings'];
const say = (options: BenchOptions, message: string): void => {
  options.signal?.throwIfAborted();
  options.onProgress?.(message);
};

async function benchModel(options: BenchOptions, settings: Settings): Promise<Pick<BenchReport, 'target' | 'engine' | 'results'>> {
  say(options, `validating and loading ${options.target}`);
  const started = performance.now();
  const sequences = Math.max(1, Math.min(settings.concurrency || 1, 4));
  const { engine, model, description } = await openEngine(options.target, {
    workspaceRoot: options.workspaceRoot,
    load: { threads: options.threads, contextSize: options.contextSize, sequences },
  });
  const coldLoadMs = performance.now() - started;
  try {
    const results: BenchReport['results'] = { coldLoadMs, modelLoadMs: description.loadMs, validationMs: Math.max(0, coldLoadMs - description.loadMs) };
    if (description.kind === 'gguf') Object.assign(results, await measureGeneration(engine, settings, options));
    else results.predict = await measurePredict(engine, description, settings);
    if (settings.concurrency > 0) results.load = await loadAgainstEngine(engine, description, settings, options);
    results.engineRssBytes = await engine.rssBytes();
    return {
      target: { kind: 'model', path: options.target, name: description.name, format: model.format, sha256: model.sha256, sizeBytes: model.size },
      engine: {
        threads: description.threads,
        contextSize: description.contextSize,
        sequences: description.sequences,
        gpu: description.gpu,
        gpuLayers: description.gpuLayers,
        executionProviders: description.executionProviders,
        versions: description.versions,
      },
      results,
    };
  } finally {
    await engine.stop();
  }
}

/** A prompt of about `tokens` tokens that starts with a marker unique to this run, so no cached prefix is reused. */
async function promptOf(engine: EngineSupervisor, tokens: number, run: number): Promise<{ text: string; tokens: number }> {
  const sentence = ' the quick brown fox jumps over the lazy dog while seven wizards quietly box and judge';
  let text = `#${run}:`;
  while ((await engine.tokenCount(text)) < tokens) text += sentence;
  // Trim to the token budget by bisection on the length (tokenizing through the engine is exact for any vocabulary).
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if ((await engine.tokenCount(text.slice(0, mid))) <= tokens) lo = mid;
    else hi = mid - 1;
  }
  text = text.slice(0, lo);
  return { text, tokens: await engine.tokenCount(text) };
}

async function measureGeneration(engine: EngineSupervisor, settings: Settings, options: BenchOptions): Promise<Partial<BenchReport['results']>> {
  const ttft: number[] = [];
  const pp: number[] = [];
  const tg: number[] = [];
  let ppTokens = 0;
  let tgTokens = 0;
  const total = settings.warmup + settings.repetitions;
  for (let run = 0; run < total; run++) {
    const measured = run >= settings.warmup;
    say(options, `${measured ? 'repetition' : 'warm-up'} ${measured ? run - settings.warmup + 1 : run + 1}/${measured ? settings.repetitions : settings.warmup}`);
    const short = await engine.complete({ prompt: `#${run} Hello`, maxTokens: 1, temperature: 0 });
    const prompt = await promptOf(engine, settings.promptTokens, run);
    const promptRun = await engine.complete({ prompt: prompt.text, maxTokens: 1, temperature: 0 });
    const gen = await engine.complete({ prompt: `#${run}`, maxTokens: settings.generateTokens, temperature: 0 });
    if (!measured) continue;
    ttft.push(short.ttftMs);
    ppTokens = promptRun.promptTokens;
    if (promptRun.promptMs > 0) pp.push(promptRun.promptTokens / (promptRun.promptMs / 1000));
    tgTokens = gen.generatedTokens;
    if (gen.generatedTokens > 1 && gen.generateMs > 0) tg.push((gen.generatedTokens - 1) / (gen.generateMs / 1000));
  }
  return { ttftMs: meanStd(ttft), pp: { tokens: ppTokens, tokensPerSecond: meanStd(pp) }, tg: { tokens: tgTokens, tokensPerSecond: meanStd(tg) } };
}

/** A zero-filled request for an ONNX model's inputs (symbolic dimensions become 1). */
export function zeroInputs(description: ModelDescription): Record<string, JsonTensor> {
  const inputs: Record<string, JsonTensor> = {};
  for (const input of description.inputs ?? []) {
    const dims = input.dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    inputs[input.name] = { type: input.type, dims, data: new Array(dims.reduce((a, b) => a * b, 1)).fill(0) };
  }
  return inputs;
}

async function measurePredict(engine: EngineSupervisor, description: ModelDescription, settings: Settings): Promise<BenchReport['results']['predict']> {
  const inputs = zeroInputs(description);
  for (let i = 0; i < settings.warmup * 20; i++) await engine.predict(inputs);
  const latencies: number[] = [];
  for (let i = 0; i < settings.repetitions * 100; i++) {
    const t = performance.now();
    await engine.predict(inputs);
    latencies.push(performance.now() - t);
  }
  return { batch: 1, latencyMs: latencySummary(latencies) };
}

async function loadAgainstEngine(engine: EngineSupervisor, description: ModelDescription, settings: Settings, options: BenchOptions): Promise<LoadTestResult> {
  const runtime = new ServeRuntime(engine, { host: '127.0.0.1', port: 0, parallel: description.sequences ?? 1, queue: Math.max(32, settings.concurrency * 2) });
  const { url } = await runtime.listen();
  try {
    say(options, `${settings.concurrency} clients for ${settings.durationS} s`);
    return await runLoadTest({
      url,
      clients: settings.concurrency,
      durationMs: settings.durationS * 1000,
      path: description.kind === 'onnx' ? '/v1/predict' : '/v1/completions',
      body: description.kind === 'onnx' ? () => ({ inputs: zeroInputs(description) }) : (c) => ({ prompt: `Client ${c}:`, max_tokens: 16, temperature: 0 }),
      sampleMemory: () => engine.rssBytes(),
    });
  } finally {
    await runtime.close();
  }
}

async function benchUrl(options: BenchOptions, settings: Settings): Promise<Pick<BenchReport, 'target' | 'results'>> {
  const base = options.target.replace(/\/+$/, '').replace(/\/v1$/, '');
  const target = await openTarget(base, options.token, Math.max(1, settings.concurrency));
  let name = base;
  const ttft: number[] = [];
  const pp: number[] = [];
  const tg: number[] = [];
  let ppTokens = 0;
  let tgTokens = 0;
  try {
    const prompt = 'the quick brown fox jumps over the lazy dog '.repeat(Math.ceil(settings.promptTokens / 10));
    for (let run = 0; run < settings.warmup + settings.repetitions; run++) {
      say(options, `request set ${run + 1}/${settings.warmup + settings.repetitions}`);
      const short = await postTimed(target, '/v1/completions', { prompt: `#${run} Hello`, max_tokens: 1, temperature: 0, stream: true });
      const long = await postTimed(target, '/v1/completions', { prompt: `#${run} ${prompt}`, max_tokens: 1, temperature: 0, stream: true });
      const gen = await postTimed(target, '/v1/completions', { prompt: `#${run}`, max_tokens: settings.generateTokens, temperature: 0, stream: true });
      for (const r of [short, long, gen]) if (r.status !== 200) throw ioError(new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`), base, 'benchmark');
      if (run < settings.warmup) continue;
      if (short.firstEventMs !== undefined) ttft.push(short.firstEventMs);
      ppTokens = long.usage?.prompt_tokens ?? 0;
      if (ppTokens && long.firstEventMs) pp.push(ppTokens / (long.firstEventMs / 1000));
      tgTokens = gen.usage?.completion_tokens ?? Math.max(0, gen.events - 2);
      if (tgTokens > 1 && gen.firstEventMs !== undefined) tg.push((tgTokens - 1) / (((gen.lastTokenEventMs ?? gen.totalMs) - gen.firstEventMs) / 1000));
    }
    try {
      const models = await fetchModels(base, options.token);
      if (models) name = models;
    } catch {
      // the name stays the URL
    }
  } finally {
    target.close();
  }
  const results: BenchReport['results'] = { ttftMs: meanStd(ttft), pp: { tokens: ppTokens, tokensPerSecond: meanStd(pp) }, tg: { tokens: tgTokens, tokensPerSecond: meanStd(tg) } };
  if (settings.concurrency > 0) {
    say(options, `${settings.concurrency} clients for ${settings.durationS} s`);
    results.load = await runLoadTest({ url: base, token: options.token, clients: settings.concurrency, durationMs: settings.durationS * 1000 });
  }
  return { target: { kind: 'url', url: base, name }, results };
}

async function fetchModels(base: string, token: string | undefined): Promise<string | undefined> {
  const res = await guardedFetch(`${base}/v1/models`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = (await res.json()) as { data?: { id?: string }[] };
  return body.data?.[0]?.id;
}

/** Writes a report where it is meant to be committed: `.sovereign/benchmarks/NAME/VERSION/<timestamp>.json`. */
export async function saveBenchReport(report: BenchReport, workspaceRoot: string, name: string, version: string): Promise<string> {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'unnamed';
  const dir = join(workspaceRoot, '.sovereign', 'benchmarks', safe(name), safe(version));
  const file = join(dir, `${report.createdAt.replace(/[:.]/g, '-')}.json`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(file, JSON.stringify(report, null, 2) + '\n');
  } catch (err) {
    throw ioError(err, file, 'write');
  }
  return file;
}
