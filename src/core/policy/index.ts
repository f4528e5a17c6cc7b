/** Policy-as-code: .sovereign/policy.yaml, its evaluation over the registry, and the load-time gate. */
export { loadPolicy, parsePolicy, allowedEndpoints, defaultPolicyText, DEFAULT_POLICY, PolicyFileError, type Policy, type PolicyException, type LoadedPolicy } from './load';
export { evaluatePolicy, formatViolation, type PolicyViolation, type PolicyReport, type WaivedViolation } from './evaluate';
export { checkModelFile, type PolicyDecision, type ModelFileFacts } from './gate';
export { POLICY_RULES, type PolicyRule } from './rules';
