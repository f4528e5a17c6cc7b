export { redact, redactValue, isSecretKey, type Redaction, type TextRedaction } from './redact';
export { isSecretFile, DEFAULT_SECRET_FILE_PATTERNS } from './secret-files';
export { RULES, marker, entropy, luhnValid, ibanValid, type RedactionKind, type RedactionRule } from './rules';
