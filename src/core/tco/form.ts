/**
 * The TCO webview's form (webview/tco/contract.ts) onto `computeTco`'s inputs: the view and `sovereign tco`
 * share one computation (tco.ts); this only says which fields the chosen pricing uses.
 */
import type { TcoForm } from '../../../webview/tco/contract';
import type { TcoInputs, Throughput } from './tco';

export function tcoInputsFromForm(form: TcoForm, throughput: Throughput): TcoInputs {
  return {
    requestsPerDay: form.requestsPerDay,
    inputTokens: form.inputTokens,
    outputTokens: form.outputTokens,
    hardware:
      form.pricing === 'hourly'
        ? { hourlyPrice: form.hourlyPrice, powerWatts: form.powerWatts, idleWatts: form.idleWatts, electricityPrice: form.electricityPrice, utilisation: form.utilisation }
        : { purchasePrice: form.purchasePrice, amortisationMonths: form.amortisationMonths, powerWatts: form.powerWatts, idleWatts: form.idleWatts, electricityPrice: form.electricityPrice, utilisation: form.utilisation },
    api: { inputPerMillion: form.apiInputPerMillion, outputPerMillion: form.apiOutputPerMillion },
    throughput,
    currency: form.currency || 'USD',
  };
}
