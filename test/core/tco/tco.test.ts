import assert from 'node:assert/strict';
import { computeTco, type TcoInputs } from '../../../src/core/tco/tco';

const close = (actual: number, expected: number, what: string, rel = 1e-9): void => assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);

/** 10,000 requests/day of 500 input + 200 output tokens; a 12,000 machine over 36 months drawing 400 W at 0.30/kWh. */
const base: TcoInputs = {
  requestsPerDay: 10_000,
  inputTokens: 500,
  outputTokens: 200,
  hardware: { purchasePrice: 12_000, amortisationMonths: 36, powerWatts: 400, electricityPrice: 0.3, utilisation: 0.6 },
  api: { inputPerMillion: 3, outputPerMillion: 15 },
  throughput: { inputTokensPerSecond: 2000, outputTokensPerSecond: 100, source: 'given' },
};

describe('tco (known inputs, hand-computed outputs)', () => {
  it('a purchased machine against an API', () => {
    const r = computeTco(base);
    // API: (500 x 3 + 200 x 15) / 1e6 = 0.0045 a request; x 10,000 x 365/12 days = 1,368.75 a month
    close(r.api.perRequest, 0.0045, 'api per request');
    close(r.api.monthly, 1368.75, 'api monthly');
    close(r.api.yearly, 16425, 'api yearly');
    // machine time: 500/2000 + 200/100 = 2.25 s; 86,400 / 2.25 = 38,400 a day; 60% -> 23,040; 1 machine
    close(r.throughput.secondsPerRequest, 2.25, 's/request');
    close(r.capacity.fullRequestsPerDay, 38_400, 'capacity');
    close(r.capacity.plannedRequestsPerDay, 23_040, 'planned capacity');
    assert.equal(r.machines, 1);
    // 12,000 / 36 = 333.33 + 0.4 kW x 730 h x 0.30 = 87.60 -> 420.93 a month
    close(r.selfHosted.hardwareMonthly, 333.3333333333333, 'hardware');
    close(r.selfHosted.powerMonthly, 87.6, 'power');
    close(r.selfHosted.monthly, 420.9333333333333, 'self monthly');
    close(r.selfHosted.yearly, 5051.2, 'self yearly');
    close(r.selfHosted.perRequest, 0.0013838904109589, 'self per request');
    // break-even: 420.93 / (30.4167 x 0.0045) = 3,075.3 requests a day
    close(r.breakEvenRequestsPerDay!, 3075.31202435312, 'break-even');
    assert.equal(r.cheaper, 'self-hosted');
    // utilisation: 10,000 / 38,400 = 26.04% used of a planned 60%
    close(r.utilisation.actual, 0.2604166666666667, 'actual');
    close(r.utilisation.gap, 0.6 - 0.2604166666666667, 'gap');
    close(r.utilisation.perRequestAtPlanned, 0.0006006468797564688, 'per request at planned');
    assert.equal(r.curve.length, 7);
    close(r.curve[3].apiMonthly, r.api.monthly, 'curve at 1x');
  });

  it('idle power below full power: the energy above idle is paid per request', () => {
    const r = computeTco({ ...base, hardware: { ...base.hardware, idleWatts: 100 } });
    // idle: 0.1 kW x 730 x 0.30 = 21.90; per request (0.4 - 0.1) kW x 2.25/3600 h x 0.30 = 0.00005625
    close(r.selfHosted.monthly, 333.3333333333333 + 21.9 + 10_000 * (365 / 12) * 0.00005625, 'self monthly');
    close(r.selfHosted.monthly, 372.3427083333333, 'self monthly (decimal)');
    close(r.breakEvenRequestsPerDay!, 2628.164075294299, 'break-even');
  });

  it('hourly machines: machines with headroom, and the break-even', () => {
    const r = computeTco({ ...base, requestsPerDay: 50_000, hardware: { hourlyPrice: 2, utilisation: 0.6 } });
    // 50,000 / 23,040 = 2.17 -> 3 machines x 2.00 x 730 h = 4,380 a month
    assert.equal(r.machines, 3);
    close(r.selfHosted.monthly, 4380, 'self monthly');
    close(r.selfHosted.powerMonthly, 0, 'no power given');
    close(r.api.monthly, 6843.75, 'api monthly');
    close(r.breakEvenRequestsPerDay!, 1460 / ((365 / 12) * 0.0045), 'break-even');
    close(r.utilisation.actual, 50_000 / (3 * 38_400), 'actual');
  });

  it('a cheap API: self-hosting never pays', () => {
    const r = computeTco({ ...base, api: { inputPerMillion: 0.1, outputPerMillion: 0.2 } });
    assert.equal(r.breakEvenRequestsPerDay, null);
    assert.equal(r.cheaper, 'api');
  });

  it('refuses impossible inputs with the name of the input', () => {
    assert.throws(() => computeTco({ ...base, requestsPerDay: 0 }), /requests per day must be a positive number/);
    assert.throws(() => computeTco({ ...base, hardware: { powerWatts: 100 } }), /purchase price .* or an hourly price/);
    assert.throws(() => computeTco({ ...base, hardware: { ...base.hardware, utilisation: 1.5 } }), /utilisation must be in/);
    assert.throws(() => computeTco({ ...base, throughput: { ...base.throughput, outputTokensPerSecond: 0 } }), /output tokens per second/);
  });
});
