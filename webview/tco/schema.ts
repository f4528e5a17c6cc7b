/** Params schemas of the TCO view's host methods (checked by the host before dispatch). */
import { LIMITS, type ParamsSchemas } from '../shared/params-schema';
import type { TcoContract } from './contract';

const amount = { type: 'number', minimum: 0, maximum: 1e15 } as const;

export const TCO_PARAMS: ParamsSchemas<TcoContract> = {
  compute: {
    type: 'object',
    properties: {
      model: { type: 'string', minLength: 1, maxLength: LIMITS.name * 2 + 1 },
      requestsPerDay: amount,
      inputTokens: amount,
      outputTokens: amount,
      pricing: { type: 'string', enum: ['purchase', 'hourly'] },
      purchasePrice: amount,
      amortisationMonths: amount,
      hourlyPrice: amount,
      powerWatts: amount,
      idleWatts: amount,
      electricityPrice: amount,
      utilisation: { type: 'number', minimum: 0, maximum: 1 },
      apiInputPerMillion: amount,
      apiOutputPerMillion: amount,
      currency: { type: 'string', maxLength: 16 },
    },
    required: ['model', 'requestsPerDay', 'inputTokens', 'outputTokens', 'pricing', 'purchasePrice', 'amortisationMonths', 'hourlyPrice', 'powerWatts', 'idleWatts', 'electricityPrice', 'utilisation', 'apiInputPerMillion', 'apiOutputPerMillion', 'currency'],
    additionalProperties: false,
  },
  refresh: null,
};
