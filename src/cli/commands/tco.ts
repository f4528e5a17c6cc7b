/**
 * `sovereign tco`: what self-hosting a model costs against an API, from the workspace's own benchmark
 * results (or a given throughput), a hardware profile and the API's per-token prices (docs/tco.md).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { throughputFromBenchmarks } from '../../core/tco/bench-throughput';
import { computeTco, type TcoInputs, type TcoResult } from '../../core/tco/tco';
import { ioError, UsageError } from '../../core/util/errors';
import { parseModelRef } from '../../core/registry/manifest';
import { emit, json } from '../output';
import { workspaceOrUndefined } from '../workspace';

interface TcoOpts {
  config?: string;
  model?: string;
  requestsPerDay?: number;
  inputTokens?: number;
  outputTokens?: number;
  purchasePrice?: number;
  amortisationMonths?: number;
  hourlyPrice?: number;
  powerWatts?: number;
  idleWatts?: number;
  electricityPrice?: number;
  utilisation?: number;
  apiInputPrice?: number;
  apiOutputPrice?: number;
  inputTokensPerSecond?: number;
  outputTokensPerSecond?: number;
  currency?: string;
  json?: string | boolean;
}

/** The YAML file's keys (snake_case) onto the option names; options given on the command line win. */
const FILE_KEYS: Record<string, keyof TcoOpts> = {
  model: 'model',
  requests_per_day: 'requestsPerDay',
  input_tokens: 'inputTokens',
  output_tokens: 'outputTokens',
  'hardware.purchase_price': 'purchasePrice',
  'hardware.amortisation_months': 'amortisationMonths',
  'hardware.hourly_price': 'hourlyPrice',
  'hardware.power_watts': 'powerWatts',
  'hardware.idle_watts': 'idleWatts',
  'hardware.electricity_price': 'electricityPrice',
  'hardware.utilisation': 'utilisation',
  'api.input_per_million': 'apiInputPrice',
  'api.output_per_million': 'apiOutputPrice',
  'throughput.input_tokens_per_second': 'inputTokensPerSecond',
  'throughput.output_tokens_per_second': 'outputTokensPerSecond',
  currency: 'currency',
};

async function readConfigFile(path: string): Promise<{ opts: TcoOpts; hardwareName?: string; apiName?: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw ioError(err, path);
  }
  let doc: Record<string, unknown>;
  try {
    doc = (parse(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`${path} is not valid YAML: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${path} must be a YAML mapping`, 'see docs/tco.md for an example');
  const opts: TcoOpts = {};
  const known = new Set(Object.keys(FILE_KEYS));
  const walk = (value: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(value)) {
      const key = prefix + k;
      if (key === 'hardware.name' || key === 'api.name') continue;
      if (v && typeof v === 'object' && !Array.isArray(v) && (key === 'hardware' || key === 'api' || key === 'throughput')) {
        walk(v as Record<string, unknown>, `${key}.`);
        continue;
      }
      if (!known.has(key)) throw new UsageError(`${path}: unknown key "${key}"`, `known keys: ${[...known].join(', ')}`);
      const target = FILE_KEYS[key];
      if (target === 'model' || target === 'currency') (opts as Record<string, unknown>)[target] = String(v);
      else {
        const n = Number(v);
        if (typeof v === 'boolean' || v === null || v === '' || !Number.isFinite(n)) throw new UsageError(`${path}: ${key} must be a number, got ${JSON.stringify(v)}`);
        (opts as Record<string, unknown>)[target] = n;
      }
    }
  };
  walk(doc, '');
  const sub = (k: string): string | undefined => {
    const v = (doc[k] as Record<string, unknown> | undefined)?.name;
    return typeof v === 'string' ? v : undefined;
  };
  return { opts, hardwareName: sub('hardware'), apiName: sub('api') };
}

const num = (name: string) => (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name} must be a number, got "${value}"`);
  return n;
};

export function renderTco(r: TcoResult): string {
  const m = (v: number): string => `${r.currency} ${v.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 })}`;
  const p = (v: number): string => `${r.currency} ${v.toPrecision(3)}`;
  const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
  const n = (v: number): string => Math.round(v).toLocaleString('en-US');
  return [
    `load        ${n(r.inputs.requestsPerDay)} requests/day, ${r.inputs.inputTokens} input + ${r.inputs.outputTokens} output tokens each`,
    `throughput  ${r.throughput.inputTokensPerSecond.toFixed(1)} input tok/s, ${r.throughput.outputTokensPerSecond.toFixed(1)} output tok/s per machine (${r.throughput.source}); ${r.throughput.secondsPerRequest.toFixed(3)} s of machine time per request`,
    `capacity    ${n(r.capacity.fullRequestsPerDay)} requests/day per machine at 100%, ${n(r.capacity.plannedRequestsPerDay)} at the planned ${pct(r.utilisation.planned)}`,
    `machines    ${r.machines}`,
    '',
    ' '.repeat(13) + 'monthly'.padStart(14) + 'yearly'.padStart(19) + 'per request'.padStart(19),
    `self-hosted  ${m(r.selfHosted.monthly).padStart(14)} ${m(r.selfHosted.yearly).padStart(18)} ${p(r.selfHosted.perRequest).padStart(18)}   (hardware ${m(r.selfHosted.hardwareMonthly)}, power ${m(r.selfHosted.powerMonthly)} a month)`,
    `api          ${m(r.api.monthly).padStart(14)} ${m(r.api.yearly).padStart(18)} ${p(r.api.perRequest).padStart(18)}`,
    '',
    `cheaper     ${r.cheaper}`,
    `break-even  ${r.breakEvenRequestsPerDay === null ? 'never: a machine at the planned utilisation costs more per request than the API' : `${n(r.breakEvenRequestsPerDay)} requests/day`}`,
    `utilisation the load uses ${pct(r.utilisation.actual)} of the machines' capacity (planned ${pct(r.utilisation.planned)}; gap ${pct(r.utilisation.gap)}); at the planned utilisation a request would cost ${p(r.utilisation.perRequestAtPlanned)}`,
  ].join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('tco')
    .description('cost of self-hosting a model against an API: monthly/yearly/per request, break-even volume, machines, utilisation gap')
    .option('--config <file>', 'a YAML file with the inputs (docs/tco.md); options override it')
    .option('--model <ref>', 'NAME@VERSION whose stored benchmark results (.sovereign/benchmarks/) give the throughput')
    .option('--requests-per-day <n>', 'requests per day', num('--requests-per-day'))
    .option('--input-tokens <n>', 'input (prompt) tokens per request', num('--input-tokens'))
    .option('--output-tokens <n>', 'output (generated) tokens per request', num('--output-tokens'))
    .option('--purchase-price <price>', 'price of one machine (with --amortisation-months)', num('--purchase-price'))
    .option('--amortisation-months <n>', 'months the purchase is written off over (default 36)', num('--amortisation-months'))
    .option('--hourly-price <price>', 'rental price per machine-hour instead of a purchase', num('--hourly-price'))
    .option('--power-watts <w>', 'power draw under load', num('--power-watts'))
    .option('--idle-watts <w>', 'power draw when idle (default: --power-watts)', num('--idle-watts'))
    .option('--electricity-price <price>', 'price of a kWh', num('--electricity-price'))
    .option('--utilisation <0-1>', 'the most of a machine\'s capacity to plan for (default 0.6)', num('--utilisation'))
    .option('--api-input-price <price>', 'API price per million input tokens', num('--api-input-price'))
    .option('--api-output-price <price>', 'API price per million output tokens', num('--api-output-price'))
    .option('--input-tokens-per-second <n>', 'prompt throughput of one machine (instead of stored benchmarks)', num('--input-tokens-per-second'))
    .option('--output-tokens-per-second <n>', 'generation throughput of one machine under load (instead of stored benchmarks)', num('--output-tokens-per-second'))
    .option('--currency <code>', 'label of the money figures (default USD)')
    .option('--json [file]', 'write the JSON result to FILE (or to stdout without a file)')
    .addHelpText('after', '\nPrices are yours: nothing is fetched (docs/tco.md has a dated example table).\nExit status: 0 ok, 2 usage or I/O error.')
    .action(async (cli: TcoOpts) => {
      const file = cli.config ? await readConfigFile(cli.config) : { opts: {} as TcoOpts };
      const defined = Object.fromEntries(Object.entries(cli).filter(([, v]) => v !== undefined)) as TcoOpts;
      const o: TcoOpts = { ...file.opts, ...defined };
      const need = (v: number | undefined, flag: string): number => {
        if (v === undefined) throw new UsageError(`${flag} is required`, 'give it as an option or in the --config YAML file (docs/tco.md)');
        return v;
      };
      let throughput: TcoInputs['throughput'];
      if (o.inputTokensPerSecond !== undefined && o.outputTokensPerSecond !== undefined) {
        throughput = { inputTokensPerSecond: o.inputTokensPerSecond, outputTokensPerSecond: o.outputTokensPerSecond, source: 'given' };
      } else {
        if (!o.model) throw new UsageError('the throughput is unknown', 'name the model whose stored benchmarks give it (--model NAME@VERSION), or give --input-tokens-per-second and --output-tokens-per-second');
        const root = await workspaceOrUndefined();
        if (!root) throw new UsageError('--model reads stored benchmark results: run inside a governed workspace', 'or give --input-tokens-per-second and --output-tokens-per-second');
        const { name, version } = parseModelRef(o.model);
        if (!version) throw new UsageError(`--model ${o.model} needs a version`, 'use NAME@VERSION');
        const measured = await throughputFromBenchmarks(root, name, version);
        throughput = { inputTokensPerSecond: o.inputTokensPerSecond ?? measured.inputTokensPerSecond, outputTokensPerSecond: o.outputTokensPerSecond ?? measured.outputTokensPerSecond, source: measured.source };
      }
      const inputs: TcoInputs = {
        requestsPerDay: need(o.requestsPerDay, '--requests-per-day'),
        inputTokens: need(o.inputTokens, '--input-tokens'),
        outputTokens: need(o.outputTokens, '--output-tokens'),
        hardware: {
          ...(file.hardwareName ? { name: file.hardwareName } : {}),
          purchasePrice: o.purchasePrice,
          amortisationMonths: o.amortisationMonths,
          hourlyPrice: o.hourlyPrice,
          powerWatts: o.powerWatts,
          idleWatts: o.idleWatts,
          electricityPrice: o.electricityPrice,
          utilisation: o.utilisation,
        },
        api: { ...(file.apiName ? { name: file.apiName } : {}), inputPerMillion: need(o.apiInputPrice, '--api-input-price'), outputPerMillion: need(o.apiOutputPrice, '--api-output-price') },
        throughput,
        currency: o.currency,
      };
      let result: TcoResult;
      try {
        result = computeTco(inputs);
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message, 'fix the input (docs/tco.md lists them)');
        throw err;
      }
      if (typeof o.json === 'string') {
        await emit(json(result), o.json);
        await emit(renderTco(result));
      } else {
        await emit(o.json ? json(result) : renderTco(result));
      }
      process.exitCode = 0;
    });
}
