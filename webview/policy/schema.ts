/** Params schemas of the policy view's host methods (checked by the host before dispatch). */
import { LIMITS, type ParamsSchemas } from '../shared/params-schema';
import type { PolicyContract } from './contract';

const name = { type: 'string', minLength: 1, maxLength: LIMITS.name } as const;

export const POLICY_PARAMS: ParamsSchemas<PolicyContract> = {
  openLocation: {
    type: 'object',
    properties: {
      file: { type: 'string', minLength: 1, maxLength: LIMITS.path },
      line: { type: 'integer', minimum: 0 },
      column: { type: 'integer', minimum: 0, nullable: true },
    },
    required: ['file', 'line'],
    additionalProperties: false,
  },
  signModel: {
    type: 'object',
    properties: { model: name, version: name },
    required: ['model', 'version'],
    additionalProperties: false,
  },
  requestException: {
    type: 'object',
    properties: { model: name, rule: name },
    required: ['model', 'rule'],
    additionalProperties: false,
  },
  refresh: null,
};
