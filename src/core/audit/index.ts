export { appendAudit, readAudit, hasAudit, auditFile, AUDIT_FILE, type AuditEntry, type AuditEvent, type ReadAuditOptions } from './log';
export { verifyAudit, verifyAuditText, type AuditVerification } from './verify';
export { auditActions, isKnownAction, METADATA_ONLY, type AuditAction } from './actions';
export { canonicalJson, sha256Hex, GENESIS } from './canonical';
