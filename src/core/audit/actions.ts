/**
 * The governed actions the audit log records, with what each entry's `subject` and `details` hold.
 * `action` is a free string in the API so a new feature can log before this list learns its name, but
 * everything in the product uses these.
 */
export const auditActions = {
  register: 'a model version was added to the registry; subject NAME@VERSION; details: digest, format, source',
  scan: 'a supply-chain scan verdict; subject the model or path; details: verdict, counts by severity, rules',
  sign: 'a model was signed; subject the model; details: digest, key id',
  verify: 'a signature was verified; subject the model; details: ok, key id, reason when it failed',
  'key-rotate': 'a new signing key was made and trusted in the policy; subject the new key id; details: previous key id, whether it was revoked',
  'key-revoke': 'a signing key was revoked in the policy; subject the key id; details: reason',
  alias: 'an alias was moved; subject NAME@ALIAS; details: from, to',
  'policy-exception': 'a policy rule was waived; subject the model; details: rule, reason, expires, approver',
  deploy: 'a deployment was created or changed; subject the deployment; details: model digest, image, isolation',
  canary: 'a canary verdict; subject the deployment; details: verdict, metrics compared',
  promote: 'a version was promoted (e.g. staging to production); subject NAME@VERSION; details: from, to',
  rollback: 'a deployment was rolled back; subject the deployment; details: from, to, reason',
  'model-load': 'a model was loaded for inference; subject the model; details: digest, engine, load ms',
  completion:
    'a completion backend was used. METADATA ONLY: time, model digest, endpoint, latency; never code, prompts or output',
  chat: 'a chat turn (Playground, comparison, VS Code language-model API). METADATA ONLY: model, digest, endpoint, tokens, latency, redactions; never the messages or the answer',
  'egress-refused': 'an outbound connection was refused by the egress guard; subject the endpoint; details: address, reason',
  egress: 'an outbound connection was allowed by the egress guard; subject the endpoint; details: address, rule',
  push: 'a version was published as an OCI artifact; subject NAME@VERSION; details: target (oci://HOST/REPO:TAG or oci:DIR:TAG), manifest digest, referrers',
  pull: 'a version was pulled from an OCI registry or layout through the gate and registered; subject NAME@VERSION; details: source, manifest digest, signature status and key id',
  'registration-rolled-back':
    'a registry change failed after it had logged entries and other processes had appended after them, so they were not cut off; subject the model; details: reason, entries (seq, action, hash) that did not take effect',
} as const;

export type AuditAction = keyof typeof auditActions;

export function isKnownAction(action: string): action is AuditAction {
  return Object.prototype.hasOwnProperty.call(auditActions, action);
}

/**
 * For actions that happen while someone writes code, the details allowed in the log. Anything else
 * (a prompt, a prefix, the generated text) is dropped before it reaches the disk: the log proves what
 * happened without keeping what was written.
 */
export const METADATA_ONLY: Partial<Record<AuditAction, readonly string[]>> = {
  completion: [
    'time', 'model', 'modelDigest', 'digest', 'endpoint', 'backend', 'latencyMs', 'status', 'error',
    'promptTokens', 'completionTokens', 'tokens', 'cached', 'cancelled', 'language', 'ok', 'statusCode',
    'firstTokenMs', 'trigger',
  ],
  chat: [
    'surface', 'model', 'modelDigest', 'backend', 'endpoint', 'promptTokens', 'completionTokens', 'firstTokenMs',
    'latencyMs', 'finish', 'redactions', 'error',
  ],
  'model-load': ['model', 'modelDigest', 'digest', 'engine', 'format', 'loadMs', 'threads', 'gpu', 'status', 'error', 'endpoint', 'ok', 'contextSize'],
};
