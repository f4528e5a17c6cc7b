/**
 * Total cost of ownership: self-hosting a model on machines of one hardware profile against paying an API
 * per token. Pure computation; docs/tco.md gives every formula. Money is in whatever currency the inputs
 * use (prices are the user's: nothing here knows or fetches a price).
 */

export const TCO_SCHEMA = 'sovereign.tco/v1';
/** 365 / 12: the average month. */
export const DAYS_PER_MONTH = 365 / 12;
/** 8760 / 12. */
export const HOURS_PER_MONTH = (365 * 24) / 12;

export interface HardwareProfile {
  name?: string;
  /** Purchase price of one machine, amortised over `amortisationMonths` (or give `hourlyPrice`). */
  purchasePrice?: number;
  amortisationMonths?: number;
  /** Rental price per machine-hour, billed around the clock (cloud or colocation). */
  hourlyPrice?: number;
  /** Draw under load, watts (default 0: e.g. included in an hourly price). */
  powerWatts?: number;
  /** Draw when idle, watts (default: powerWatts, i.e. always drawing full power). */
  idleWatts?: number;
  /** Price of a kWh (default 0). */
  electricityPrice?: number;
  /** The most of a machine's measured capacity the plan may use (0-1, default 0.6: 40% headroom for peaks). */
  utilisation?: number;
}

export interface ApiPrice {
  name?: string;
  /** Price per million input (prompt) tokens. */
  inputPerMillion: number;
  /** Price per million output (generated) tokens. */
  outputPerMillion: number;
}

export interface Throughput {
  /** Prompt tokens per second one machine processes. */
  inputTokensPerSecond: number;
  /** Generated tokens per second one machine sustains under load (all concurrent requests together). */
  outputTokensPerSecond: number;
  /** Where the figures come from (a stored benchmark file, or "given"). */
  source: string;
}

export interface TcoInputs {
  requestsPerDay: number;
  inputTokens: number;
  outputTokens: number;
  hardware: HardwareProfile;
  api: ApiPrice;
  throughput: Throughput;
  currency?: string;
}

export interface CostView {
  monthly: number;
  yearly: number;
  perRequest: number;
}

export interface TcoResult {
  schema: typeof TCO_SCHEMA;
  currency: string;
  inputs: TcoInputs;
  throughput: Throughput & { secondsPerRequest: number };
  capacity: {
    /** Requests one machine serves per day at 100% busy. */
    fullRequestsPerDay: number;
    /** At the planned utilisation (what machines are counted with). */
    plannedRequestsPerDay: number;
  };
  /** Machines the load needs at the planned utilisation (at least 1). */
  machines: number;
  selfHosted: CostView & { hardwareMonthly: number; powerMonthly: number };
  api: CostView;
  /** Requests per day at which one machine costs what the API costs; null when self-hosting never pays. */
  breakEvenRequestsPerDay: number | null;
  cheaper: 'self-hosted' | 'api' | 'equal';
  utilisation: {
    planned: number;
    /** The share of the machines' capacity the load really uses. */
    actual: number;
    /** planned - actual: capacity paid for and idle beyond the planned headroom. */
    gap: number;
    /** Self-hosted cost per request if the machines ran at the planned utilisation. */
    perRequestAtPlanned: number;
  };
  /** Monthly cost of both against volume (for a chart), from 1/10 to 10x the requests per day. */
  curve: { requestsPerDay: number; selfHostedMonthly: number; apiMonthly: number; machines: number }[];
}

export function computeTco(inputs: TcoInputs): TcoResult {
  validate(inputs);
  const { hardware: hw, api, throughput: tp } = inputs;
  const utilisation = hw.utilisation ?? 0.6;
  const secondsPerRequest = inputs.inputTokens / tp.inputTokensPerSecond + inputs.outputTokens / tp.outputTokensPerSecond;
  const fullRequestsPerDay = 86_400 / secondsPerRequest;
  const plannedRequestsPerDay = fullRequestsPerDay * utilisation;
  const apiPerRequest = (inputs.inputTokens * api.inputPerMillion + inputs.outputTokens * api.outputPerMillion) / 1e6;
  // Per machine and month: hardware, plus idle power around the clock; per request: the energy above idle.
  const hardwareMonthly = hw.hourlyPrice !== undefined ? hw.hourlyPrice * HOURS_PER_MONTH : (hw.purchasePrice ?? 0) / (hw.amortisationMonths ?? 36);
  const kwhPrice = hw.electricityPrice ?? 0;
  const busyWatts = hw.powerWatts ?? 0;
  const idleWatts = hw.idleWatts ?? busyWatts;
  const idlePowerMonthly = (idleWatts / 1000) * HOURS_PER_MONTH * kwhPrice;
  const energyPerRequest = ((busyWatts - idleWatts) / 1000) * (secondsPerRequest / 3600) * kwhPrice;
  const perMachineMonthly = hardwareMonthly + idlePowerMonthly;

  const selfAt = (rpd: number): { monthly: number; machines: number; power: number } => {
    const machines = Math.max(1, Math.ceil(rpd / plannedRequestsPerDay - 1e-9));
    const power = machines * idlePowerMonthly + rpd * DAYS_PER_MONTH * energyPerRequest;
    return { monthly: machines * hardwareMonthly + power, machines, power };
  };
  const self = selfAt(inputs.requestsPerDay);
  const requestsPerMonth = inputs.requestsPerDay * DAYS_PER_MONTH;
  const apiMonthly = requestsPerMonth * apiPerRequest;
  const margin = apiPerRequest - energyPerRequest;
  const breakEven = margin > 0 ? perMachineMonthly / (DAYS_PER_MONTH * margin) : Infinity;
  const actual = inputs.requestsPerDay / (self.machines * fullRequestsPerDay);
  const perRequest = (monthly: number): number => (requestsPerMonth > 0 ? monthly / requestsPerMonth : 0);
  const curve = [0.1, 0.2, 0.5, 1, 2, 5, 10].map((f) => {
    const rpd = inputs.requestsPerDay * f;
    const s = selfAt(rpd);
    return { requestsPerDay: rpd, selfHostedMonthly: s.monthly, apiMonthly: rpd * DAYS_PER_MONTH * apiPerRequest, machines: s.machines };
  });
  return {
    schema: TCO_SCHEMA,
    currency: inputs.currency ?? 'USD',
    inputs,
    throughput: { ...tp, secondsPerRequest },
    capacity: { fullRequestsPerDay, plannedRequestsPerDay },
    machines: self.machines,
    selfHosted: { monthly: self.monthly, yearly: self.monthly * 12, perRequest: perRequest(self.monthly), hardwareMonthly: self.machines * hardwareMonthly, powerMonthly: self.power },
    api: { monthly: apiMonthly, yearly: apiMonthly * 12, perRequest: apiPerRequest },
    breakEvenRequestsPerDay: Number.isFinite(breakEven) && breakEven <= plannedRequestsPerDay ? breakEven : null,
    cheaper: Math.abs(self.monthly - apiMonthly) < 1e-9 ? 'equal' : self.monthly < apiMonthly ? 'self-hosted' : 'api',
    utilisation: {
      planned: utilisation,
      actual,
      gap: utilisation - actual,
      perRequestAtPlanned: perMachineMonthly / (plannedRequestsPerDay * DAYS_PER_MONTH) + energyPerRequest,
    },
    curve,
  };
}

/** Throws a RangeError naming the first input that is missing or out of range. */
function validate(i: TcoInputs): void {
  const positive = (v: number | undefined, name: string): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a positive number, got ${String(v)}`);
  };
  const nonNegative = (v: number | undefined, name: string): void => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new RangeError(`${name} must be a number >= 0, got ${String(v)}`);
  };
  positive(i.requestsPerDay, 'requests per day');
  nonNegative(i.inputTokens, 'input tokens per request');
  nonNegative(i.outputTokens, 'output tokens per request');
  if (i.inputTokens + i.outputTokens <= 0) throw new RangeError('a request needs input or output tokens');
  positive(i.throughput.inputTokensPerSecond, 'input tokens per second');
  positive(i.throughput.outputTokensPerSecond, 'output tokens per second');
  nonNegative(i.api.inputPerMillion, 'the API price per million input tokens');
  nonNegative(i.api.outputPerMillion, 'the API price per million output tokens');
  const hw = i.hardware;
  if (hw.hourlyPrice === undefined && hw.purchasePrice === undefined) throw new RangeError('the hardware needs a purchase price (with amortisation months) or an hourly price');
  nonNegative(hw.hourlyPrice, 'the hourly price');
  nonNegative(hw.purchasePrice, 'the purchase price');
  if (hw.amortisationMonths !== undefined) positive(hw.amortisationMonths, 'amortisation months');
  nonNegative(hw.powerWatts, 'power watts');
  nonNegative(hw.idleWatts, 'idle watts');
  nonNegative(hw.electricityPrice, 'the electricity price');
  if ((hw.idleWatts ?? 0) > (hw.powerWatts ?? hw.idleWatts ?? 0)) throw new RangeError('idle watts cannot exceed power watts');
  if (hw.utilisation !== undefined && !(hw.utilisation > 0 && hw.utilisation <= 1)) throw new RangeError(`utilisation must be in (0, 1], got ${hw.utilisation}`);
}
