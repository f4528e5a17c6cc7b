/**
 * `sovereign drift NAME@VERSION --data LIVE.csv | --url URL | --prompts LIVE --baseline-prompts BASE`: compares live inputs (and the model's predictions
 * on them) with the validation baseline `sovereign eval` stored for that version, or LLM prompts with a baseline
 * prompt set (length, script, word distributions). Exit 0 nothing drifted,
 * 1 a feature (or the prediction distribution) passed its threshold, 2 usage or I/O error. docs/drift.md.
 */
import type { Command } from 'commander';
import { compareWithBaseline, DEFAULT_THRESHOLDS, type DriftReport, type DriftThresholds, type FeatureDrift } from '../../core/drift/baseline';
import { columnsOf, readDataset } from '../../core/eval/dataset';
import { predictDataset } from '../../core/eval/evaluate';
import { resolveModelRef } from '../../core/eval/model-ref';
import { loadBaseline } from '../../core/eval/results-store';
import { guardedFetch } from '../../core/net/egress';
import { loadPolicy } from '../../core/policy/load';
import { readPromptFile } from '../../core/drift/prompt-file';
import { buildPromptBaseline, comparePrompts, PROMPT_DRIFT_SCHEMA, type PromptDriftReport } from '../../core/drift/prompts';
import { UsageError } from '../../core/util/errors';
import { emit, json } from '../output';
import { workspaceOrUndefined } from '../workspace';

export function renderDrift(r: DriftReport): string {
  const row = (f: FeatureDrift): string => {
    const test = f.ks ? `KS D ${f.ks.statistic.toFixed(3)} p ${fmtP(f.ks.pValue)}` : f.chi2 ? `chi2 ${f.chi2.statistic.toFixed(2)} (df ${f.chi2.dof}) p ${fmtP(f.chi2.pValue)}` : '';
    const shift = f.kind === 'numeric' && f.baseline.mean !== undefined && f.live.mean !== undefined ? `mean ${f.baseline.mean.toPrecision(4)} -> ${f.live.mean.toPrecision(4)}` : f.unseen ? `unseen: ${Object.entries(f.unseen).map(([k, c]) => `${k} x${c}`).join(', ')}` : '';
    return `${f.drifted ? 'DRIFT ' : 'ok    '}${f.name.padEnd(22)} ${f.kind.padEnd(11)} PSI ${f.psi.toFixed(3).padStart(7)} (> ${f.threshold})  ${test.padEnd(36)} ${shift}`;
  };
  const who = r.model ? `${r.model.name}@${r.model.version}` : 'model';
  const lines = [
    `${who}: live ${r.live.source} (${r.live.rows} rows) against the baseline of ${r.baseline.createdAt} (${r.baseline.rows} rows of ${r.baseline.data})`,
    '',
    ...r.features.map(row),
    ...(r.prediction ? ['', row(r.prediction)] : []),
    ...(r.label ? [row(r.label)] : []),
    '',
    r.drifted ? `drifted: ${[...r.features, ...(r.prediction ? [r.prediction] : [])].filter((f) => f.drifted).map((f) => `${f.name} (${f.reasons.join('; ')})`).join(', ')}` : 'no drift past the thresholds',
  ];
  return lines.join('\n') + '\n';
}

function fmtP(p: number): string {
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

/** The policy's `drift:` thresholds over the defaults. */
export function thresholdsFrom(policy: { drift?: Partial<DriftThresholds> } | undefined): DriftThresholds {
  return { ...DEFAULT_THRESHOLDS, ...(policy?.drift ?? {}) } as DriftThresholds;
}

export function register(program: Command): void {
  program
    .command('drift')
    .description('compare live data (a CSV, or a serving runtime) with the validation baseline `sovereign eval` stored: PSI, KS, chi-square per feature')
    .argument('<model>', 'NAME@VERSION (or NAME, NAME@ALIAS, a manifest) of the workspace registry')
    .option('--data <file>', 'live data: .csv (header row) or .jsonl with the baseline\'s feature columns')
    .option('--url <url>', 'a `sovereign serve` runtime: read its windowed live statistics from GET /v1/drift')
    .option('--prompts <file>', 'LLM traffic: live prompts (one per line: text, a JSON string or {"prompt"}/{"messages"}, as `deploy canary --prompts`)')
    .option('--baseline-prompts <file>', 'with --prompts: the baseline prompt set, same format (length, script and word distributions are compared)')
    .option('--token <token>', 'bearer token for --url (or SOVEREIGN_SERVE_TOKEN)')
    .option('--json [file]', 'write the JSON report to FILE (or to stdout without a file)')
    .addHelpText('after', '\nThresholds: the `drift:` section of .sovereign/policy.yaml (default: PSI 0.2).\nExit status: 0 no drift, 1 a feature or the predictions drifted, 2 usage or I/O error.')
    .action(async (model: string, opts: { data?: string; url?: string; prompts?: string; baselinePrompts?: string; token?: string; json?: string | boolean }) => {
      if (opts.prompts || opts.baselinePrompts) {
        if (!opts.prompts || !opts.baselinePrompts) throw new UsageError('prompt drift needs both --prompts LIVE.jsonl and --baseline-prompts BASE.jsonl', 'e.g. sovereign drift chat@1.0.0 --prompts live.jsonl --baseline-prompts golden.jsonl');
        if (opts.data || opts.url) throw new UsageError('give --prompts/--baseline-prompts, or --data, or --url, not several');
        const workspaceRoot = await workspaceOrUndefined();
        const threshold = thresholdsFrom(workspaceRoot ? (await loadPolicy(workspaceRoot)).policy : undefined).psi;
        const base = await readPromptFile(opts.baselinePrompts);
        const live = await readPromptFile(opts.prompts);
        const report = { ...comparePrompts(buildPromptBaseline(base), live, { baseline: opts.baselinePrompts, live: opts.prompts }, threshold), model: model };
        if (typeof opts.json === 'string') {
          await emit(json(report), opts.json);
          await emit(renderPromptDrift(report));
        } else {
          await emit(opts.json ? json(report) : renderPromptDrift(report));
        }
        process.exitCode = report.drifted ? 1 : 0;
        return;
      }
      if (!opts.data === !opts.url) throw new UsageError('give exactly one of --data LIVE.csv, --url http://127.0.0.1:PORT or --prompts LIVE.jsonl --baseline-prompts BASE.jsonl');
      const workspaceRoot = await workspaceOrUndefined();
      let report: DriftReport;
      if (opts.url) {
        const fetched = await fetchRuntimeDrift(opts.url, opts.token ?? (process.env.SOVEREIGN_SERVE_TOKEN || undefined));
        if ((fetched as { schema?: string }).schema === PROMPT_DRIFT_SCHEMA) {
          // A GGUF runtime started with --drift-baseline-prompts: its window of prompts (docs/drift.md section 6).
          const prompts = { ...(fetched as unknown as PromptDriftReport), model };
          if (typeof opts.json === 'string') {
            await emit(json(prompts), opts.json);
            await emit(renderPromptDrift(prompts));
          } else {
            await emit(opts.json ? json(prompts) : renderPromptDrift(prompts));
          }
          process.exitCode = prompts.drifted ? 1 : 0;
          return;
        }
        report = fetched;
        const wanted = model.split('@')[0];
        if (report.model?.name && !/\.ya?ml$/i.test(model) && report.model.name !== wanted) {
          throw new UsageError(`${opts.url} serves ${report.model.name}@${report.model.version ?? ''}, not ${model}`, 'point --url at the runtime that serves this model');
        }
      } else {
        if (!workspaceRoot) throw new UsageError('drift needs a governed workspace (a git repository with .sovereign/) holding the baseline', 'run it in the workspace where `sovereign eval NAME@VERSION` stored the baseline');
        const resolved = await resolveModelRef(model, workspaceRoot);
        if (!resolved.name || !resolved.version) throw new UsageError(`${model} is not a registered version`, 'name it NAME@VERSION; baselines are stored per registered version');
        const { baseline } = await loadBaseline(workspaceRoot, resolved.name, resolved.version);
        const thresholds = thresholdsFrom((await loadPolicy(workspaceRoot)).policy);
        const data = await readDataset(opts.data!, baseline.data.label, baseline.features.map((f) => f.name), true);
        const predictions = await predictDataset(resolved.path, data, { workspaceRoot, expectedSha256: resolved.expectedSha256 });
        const columns = new Map(columnsOf(data).map((c) => [c.name, c.values]));
        report = compareWithBaseline(baseline, { source: opts.data!, columns, predictions, labels: data.labels }, thresholds);
      }
      if (typeof opts.json === 'string') {
        await emit(json(report), opts.json);
        await emit(renderDrift(report));
      } else {
        await emit(opts.json ? json(report) : renderDrift(report));
      }
      process.exitCode = report.drifted ? 1 : 0;
    });
}


export function renderPromptDrift(r: PromptDriftReport & { model?: string }): string {
  const lines = [
    `${r.model ?? 'model'}: ${r.live.prompts} prompts of ${r.live.source} against ${r.baseline.prompts} baseline prompts of ${r.baseline.source}`,
    '',
    ...r.features.map((f) => {
      const shift = f.baseline.mean !== undefined && f.live.mean !== undefined ? `mean ${f.baseline.mean.toPrecision(4)} -> ${f.live.mean.toPrecision(4)}` : '';
      return `${f.drifted ? 'DRIFT ' : 'ok    '}${f.name.padEnd(14)} ${f.kind.padEnd(8)} PSI ${f.psi.toFixed(3).padStart(7)} (> ${f.threshold})  ${shift}`;
    }),
    '',
    r.drifted ? `drifted: ${r.features.filter((f) => f.drifted).map((f) => f.name).join(', ')}` : 'no drift past the thresholds',
  ];
  return lines.join('\n') + '\n';
}

async function fetchRuntimeDrift(url: string, token: string | undefined): Promise<DriftReport> {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new UsageError(`--url ${url} is not a URL`, 'e.g. --url http://127.0.0.1:8080');
  }
  const res = await guardedFetch(new URL('/v1/drift', base).toString(), { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const body = (await res.json().catch(() => undefined)) as (DriftReport & { error?: { message?: string } }) | undefined;
  if (!res.ok || !body || !Array.isArray(body.features)) {
    throw new UsageError(`${url}/v1/drift answered ${res.status}${body?.error?.message ? `: ${body.error.message}` : ''}`, 'serve a registered ONNX version whose `sovereign eval` stored a baseline; pass --token when the server needs one');
  }
  return body;
}
