/** Params schemas of the lineage view's host methods (checked by the host before dispatch). */
import { LIMITS, type ParamsSchemas } from '../shared/params-schema';
import type { LineageContract } from './contract';

export const LINEAGE_PARAMS: ParamsSchemas<LineageContract> = {
  openManifest: {
    type: 'object',
    properties: { id: { type: 'string', minLength: 1, maxLength: LIMITS.path } },
    required: ['id'],
    additionalProperties: false,
  },
  refresh: null,
};
