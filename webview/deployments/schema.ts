/** Params schemas of the deployments view's host methods (checked by the host before dispatch). */
import type { ParamsSchemas } from '../shared/params-schema';
import type { DeploymentsContract } from './contract';

export const DEPLOYMENTS_PARAMS: ParamsSchemas<DeploymentsContract> = {
  refresh: null,
};
