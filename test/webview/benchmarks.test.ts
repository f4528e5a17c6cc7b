import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { BenchmarkRun, StoredBenchReport } from '../../webview/benchmarks/contract';
import { chartSpecs, CSV_COLUMNS, csvField, exportName, latestPerVersion, machineLine, toCsv } from '../../webview/benchmarks/data';
import { benchmarkRuns } from '../../src/core/worker/webview-methods';

/** A report as `sovereign bench --save` writes it (schema sovereign.bench/v1). */
function report(createdAt: string, tg: number, extra: Partial<NonNullable<StoredBenchReport['results']>> = {}): StoredBenchReport {
  return {
    schema: 'sovereign.bench/v1',
    createdAt,
    target: { kind: 'model', name: 'tiny', format: 'gguf', sizeBytes: 324_000 },
    machine: { os: 'linux', arch: 'x64', cpuModel: 'Test CPU', logicalCores: 2, physicalCores: 2, memoryBytes: 24 * 2 ** 30, gpus: [], node: 'v20.19.0' },
    engine: { threads: 1 },
    settings: { repetitions: 5, warmup: 1, promptTokens: 512, generateTokens: 128, concurrency: 0, durationS: 10 },
    results: {
      coldLoadMs: 120.5,
      modelLoadMs: 50.25,
      ttftMs: { mean: 8.5, stddev: 0.4, n: 5 },
      pp: { tokens: 512, tokensPerSecond: { mean: 640, stddev: 12, n: 5 } },
      tg: { tokens: 128, tokensPerSecond: { mean: tg, stddev: 3, n: 5 } },
      ...extra,
    },
  };
}

const run = (model: string, version: string, createdAt: string, r: StoredBenchReport): BenchmarkRun => ({ id: `.sovereign/benchmarks/${model}/${version}/${createdAt.replace(/[:.]/g, '-')}.json`, model, version, createdAt, report: r });

describe('benchmark view: chart data and CSV', () => {
  const runs = [
    run('coder', '1.0.0', '2025-01-01T10:00:00.000Z', report('2025-01-01T10:00:00.000Z', 250)),
    run('coder', '1.0.0', '2025-01-02T10:00:00.000Z', report('2025-01-02T10:00:00.000Z', 255)),
    run('coder', '1.1.0', '2025-01-03T10:00:00.000Z', report('2025-01-03T10:00:00.000Z', 300, { load: { clients: 4, requests: 100, errors: 1, errorRate: 0.01, requestsPerSecond: 10, completionTokensPerSecond: 160, latencyMs: { p50: 90, p95: 140, p99: 180 } } })),
  ];

  it('compares runs side by side: one category per run, mean with stddev for pp/tg/TTFT', () => {
    const specs = chartSpecs(runs);
    assert.deepEqual(specs.map((s) => s.id), ['throughput', 'ttft', 'latency', 'load']);
    const tp = specs[0];
    assert.equal(tp.labels.length, 3);
    assert.equal(tp.labels[0], 'coder@1.0.0 · 2025-01-01 10:00');
    assert.deepEqual(tp.series.map((s) => s.label), ['pp tokens/s', 'tg tokens/s']);
    assert.deepEqual(tp.series[1].values, [250, 255, 300]);
    assert.deepEqual(tp.series[1].errors, [3, 3, 3]);
    const latency = specs[2];
    assert.deepEqual(latency.series.map((s) => s.values), [[null, null, 90], [null, null, 140], [null, null, 180]]);
  });

  it('leaves out charts and series with no figure at all (an ONNX run has no tokens/s)', () => {
    const onnx = report('2025-02-01T00:00:00.000Z', 0);
    onnx.results = { coldLoadMs: 30, modelLoadMs: 25, predict: { batch: 1, latencyMs: { p50: 0.03, p95: 0.05, p99: 0.07 } } };
    const specs = chartSpecs([run('fraud', '1.0.0', onnx.createdAt, onnx)]);
    assert.deepEqual(specs.map((s) => s.id), ['latency', 'load']);
    assert.deepEqual(specs[0].series[1].values, [0.05]);
  });

  it('compares versions with the newest run of each', () => {
    const latest = latestPerVersion(runs);
    assert.deepEqual(latest.map((r) => `${r.version} ${r.createdAt.slice(0, 10)}`), ['1.0.0 2025-01-02', '1.1.0 2025-01-03']);
  });

  it('exports CSV that a CSV parser reads back, one row per run, every column present', () => {
    const csv = toCsv(runs);
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    assert.equal(rows.length, 3);
    assert.deepEqual(Object.keys(rows[0]), [...CSV_COLUMNS]);
    assert.equal(rows[2].tg_tps_mean, '300');
    assert.equal(rows[2].latency_p95_ms, '140');
    assert.equal(rows[0].latency_p95_ms, '');
    assert.equal(rows[0].cpu, 'Test CPU');
  });

  it('quotes commas, quotes and newlines, and defuses spreadsheet formulas', () => {
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField(-1.5), '-1.5');
    assert.equal(csvField(undefined), '');
    assert.equal(csvField(Number.NaN), '');
  });

  it('names exports after the selection and describes the machine', () => {
    assert.equal(exportName(runs.slice(0, 2), 'throughput', 'png'), 'benchmarks-throughput-coder-1.0.0.png');
    assert.equal(exportName(runs, 'data', 'csv'), 'benchmarks-data-3-runs.csv');
    assert.equal(machineLine(runs[0]), 'Test CPU · 2 cores · 24 GiB · no GPU · 1 threads · linux-x64 · node v20.19.0');
  });
});

describe('benchmark view: reading .sovereign/benchmarks (core worker)', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sovereign-bench-view-'));
    const dir = (m: string, v: string) => join(root, '.sovereign', 'benchmarks', m, v);
    await mkdir(dir('coder', '1.0.0'), { recursive: true });
    await mkdir(dir('coder', '1.1.0'), { recursive: true });
    await writeFile(join(dir('coder', '1.1.0'), 'b.json'), JSON.stringify(report('2025-01-03T00:00:00.000Z', 300)));
    await writeFile(join(dir('coder', '1.0.0'), 'a.json'), JSON.stringify(report('2025-01-01T00:00:00.000Z', 250)));
    await writeFile(join(dir('coder', '1.0.0'), 'broken.json'), '{"schema": "sovereign.bench/v1", ');
    await writeFile(join(dir('coder', '1.0.0'), 'other.json'), JSON.stringify({ hello: 'world' }));
    await writeFile(join(dir('coder', '1.0.0'), 'notes.txt'), 'not a report');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('returns the reports oldest first and names every file it could not use', async () => {
    const { runs, problems } = await benchmarkRuns(root);
    assert.deepEqual(runs.map((r) => r.id), ['.sovereign/benchmarks/coder/1.0.0/a.json', '.sovereign/benchmarks/coder/1.1.0/b.json']);
    assert.equal(runs[1].report.results?.tg?.tokensPerSecond.mean, 300);
    assert.deepEqual(problems.map((p) => p.file).sort(), ['.sovereign/benchmarks/coder/1.0.0/broken.json', '.sovereign/benchmarks/coder/1.0.0/other.json']);
    assert.match(problems.find((p) => p.file.endsWith('other.json'))!.message, /not a sovereign bench report/);
  });

  it('is empty, not an error, when nothing was benchmarked', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'sovereign-bench-empty-'));
    try {
      assert.deepEqual(await benchmarkRuns(empty), { runs: [], problems: [] });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
