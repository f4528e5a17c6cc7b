/** Params schemas of the benchmark view's host methods (checked by the host before dispatch). */
import { LIMITS, type ParamsSchemas } from '../shared/params-schema';
import type { BenchmarksContract } from './contract';

export const BENCHMARKS_PARAMS: ParamsSchemas<BenchmarksContract> = {
  saveFile: {
    type: 'object',
    properties: {
      suggestedName: { type: 'string', minLength: 1, maxLength: LIMITS.path },
      kind: { type: 'string', enum: ['png', 'svg', 'csv'] },
      text: { type: 'string', maxLength: LIMITS.exportChars, nullable: true },
      base64: { type: 'string', maxLength: LIMITS.exportChars, nullable: true },
    },
    required: ['suggestedName', 'kind'],
    additionalProperties: false,
  },
  openFile: {
    type: 'object',
    properties: { id: { type: 'string', minLength: 1, maxLength: LIMITS.path } },
    required: ['id'],
    additionalProperties: false,
  },
  refresh: null,
};
