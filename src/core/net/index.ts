export {
  checkEndpoint,
  assertEndpointAllowed,
  guardedFetch,
  recordEgress,
  refusalMessage,
  REFUSAL_HINT,
  type EndpointCheck,
  type CheckOptions,
  type GuardedFetchOptions,
  type EgressRecordOptions,
} from './egress';
export {
  DEFAULT_ALLOWED_ENDPOINTS,
  LOOPBACK_RULES,
  compileRules,
  effectiveRules,
  isLoopbackAddress,
  type EndpointRule,
} from './endpoints';
export { egressLedger, EgressLedger, summarizeEgress, type EgressRecord, type EgressSummary } from './ledger';
export { installSocketGuard, EgressViolationError, type SocketGuardOptions, type SocketViolation } from './socket-guard';
export { pinnedFetch, pinnedLookup } from './pinned-fetch';
