/**
 * The patterns the redactor removes. Each rule is a regular expression plus an optional validator that
 * rejects look-alikes (Luhn for card numbers, mod-97 for IBANs, an entropy floor for generic tokens), so
 * ordinary code and prose survive untouched. Rules run in order: the most specific first, so a GitHub
 * token inside `TOKEN=...` is reported as a GitHub token, not as an assignment.
 */
export interface RedactionRule {
  kind: RedactionKind;
  pattern: RegExp;
  /**
   * Returns the replacement for a match, or undefined to keep it (a look-alike). Without it the whole
   * match becomes the marker.
   */
  replace?: (match: string, groups: string[]) => string | undefined;
}

export type RedactionKind =
  | 'private-key'
  | 'url-credentials'
  | 'jwt'
  | 'aws-access-key'
  | 'github-token'
  | 'openai-key'
  | 'slack-token'
  | 'slack-webhook'
  | 'google-api-key'
  | 'stripe-key'
  | 'bearer-token'
  | 'secret-assignment'
  | 'secret-token'
  | 'card-number'
  | 'iban'
  | 'email'
  | 'phone';

/** What replaces a secret: says what it was without saying anything about its value. */
export function marker(kind: RedactionKind): string {
  return `[REDACTED:${kind}]`;
}

export const MARKER_PREFIX = '[REDACTED:';

/**
 * Names whose value is a secret, as the final word of an identifier: `PASSWORD`, `db_password`,
 * `apiKey`, `GITHUB_TOKEN`, `client-secret`. The word must END the name so `tokenType` or `maxTokens`
 * are not taken for secrets.
 */
const SECRET_NAME =
  String.raw`[A-Za-z0-9_.-]*?(?:secret|password|passwd|passphrase|pwd|token|api[_ -]?key|apikey|access[_ -]?key|private[_ -]?key|auth[_-]?key|credentials?|session[_ -]?key|signing[_ -]?key)`;

/** Shannon entropy in bits per character: random tokens are above ~3.5, words and identifiers below. */
export function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** ISO 13616 check: move the country code and check digits to the end, letters to numbers, mod 97 == 1. */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, '').toUpperCase();
  if (compact.length < 15 || compact.length > 34) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 && code <= 90 ? String(code - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

const alreadyRedacted = (value: string): boolean => value.includes(MARKER_PREFIX);

/** A value that looks like a secret rather than a placeholder, a variable reference or a word. */
function secretLikeValue(value: string): boolean {
  if (value.length < 4 || alreadyRedacted(value)) return false;
  // References and placeholders are not secrets: ${VAR}, $VAR, <your-token>, process.env.X, ***.
  if (/^(?:\$\{?[A-Za-z_]|<[^>]*>$|\*+$|x+$|process\.env\.|os\.environ)/i.test(value)) return false;
  // Numbers and booleans are settings (TOKEN_LIMIT=4096), not secrets.
  if (/^(?:\d{1,7}|true|false|yes|no|on|off|null|none)$/i.test(value)) return false;
  return true;
}

/** Words that follow `name:` in type annotations and schemas rather than secret values. */
const TYPE_WORDS = new Set(['string', 'number', 'boolean', 'any', 'unknown', 'undefined', 'null', 'object', 'str', 'int', 'bytes', 'optional', 'required', 'Secret', 'SecretStr', 'String']);

export const RULES: readonly RedactionRule[] = [
  {
    kind: 'private-key',
    pattern: /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END \1PRIVATE KEY(?: BLOCK)?-----/g,
  },
  {
    // scheme://user:password@host: keep the scheme and host so the log still says where it went.
    kind: 'url-credentials',
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s:@/?#]+:[^\s@/?#]+@/gi,
    replace: (_m, [scheme]) => `${scheme}${marker('url-credentials')}@`,
  },
  {
    kind: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
  },
  { kind: 'aws-access-key', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g },
  { kind: 'github-token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  {
    // sk-..., sk-proj-..., sk-ant-...: at least 20 characters after the prefix and some digits, so
    // identifiers such as `sk-learn-compatible-options` are kept.
    kind: 'openai-key',
    pattern: /\bsk-(?:[a-z]+-)?[A-Za-z0-9_-]{20,}/g,
    replace: (m) => (/\d/.test(m) && entropy(m) > 3.5 ? marker('openai-key') : undefined),
  },
  { kind: 'slack-token', pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g },
  { kind: 'slack-webhook', pattern: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]+/g },
  { kind: 'google-api-key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'stripe-key', pattern: /\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}\b/g },
  {
    // Authorization: Bearer <token> (and Basic / Token): keep the scheme, drop the credential.
    kind: 'bearer-token',
    pattern: /\b(Bearer|Basic|Token)(\s+)([A-Za-z0-9._~+/-]{12,}=*)/g,
    replace: (m, [scheme, space, token]) =>
      alreadyRedacted(m) || !/\d/.test(token) ? undefined : `${scheme}${space}${marker('bearer-token')}`,
  },
  {
    // Quoted values of a secret-named key, in any syntax:
    //   export API_KEY="..."   "password": "..."   db_password: '...'   token = "..."   apiKey => '...'
    kind: 'secret-assignment',
    pattern: new RegExp(String.raw`(["']?\b${SECRET_NAME}["']?\s*(?::|=|:=|=>)\s*)(?:"([^"\n]*)"|'([^'\n]*)')`, 'gi'),
    replace: (_m, [prefix, dq, sq]) => {
      const value = dq ?? sq ?? '';
      if (!secretLikeValue(value)) return undefined;
      const quote = dq !== undefined ? '"' : "'";
      return `${prefix}${quote}${marker('secret-assignment')}${quote}`;
    },
  },
  {
    // Unquoted .env / shell values: PASSWORD=hunter2, AWS_SECRET_ACCESS_KEY=..., only for UPPER_CASE
    // names at the start of a line, so code such as `password = readPassword()` is left alone.
    kind: 'secret-assignment',
    pattern: /^(\s*(?:export\s+)?[A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|PASSPHRASE|PWD|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)[A-Z0-9_]*\s*=\s*)([^\s"'#;,]+)/gm,
    replace: (_m, [prefix, value]) => (secretLikeValue(value) ? `${prefix}${marker('secret-assignment')}` : undefined),
  },
  {
    // Unquoted YAML values of a secret-named key on their own line: `password: hunter2`. Type
    // annotations (`token: string`) and statements (`token: x;`) are not values.
    kind: 'secret-assignment',
    pattern: new RegExp(String.raw`^(\s*(?:- )?${SECRET_NAME}:[ \t]+)([^\s"'#;,{}[\]()]+)[ \t]*$`, 'gim'),
    replace: (_m, [prefix, value]) =>
      secretLikeValue(value) && !TYPE_WORDS.has(value) ? `${prefix}${marker('secret-assignment')}` : undefined,
  },
  {
    // A random-looking token right after a secret-ish name in prose or flags: "api key 3f9a...", "--token abc...".
    kind: 'secret-token',
    pattern: new RegExp(String.raw`(\b${SECRET_NAME}\b(?:\s+is)?[\s:=]+)([A-Za-z0-9+/_.~-]{20,}=*)`, 'gi'),
    replace: (_m, [prefix, token]) =>
      !alreadyRedacted(token) && /\d/.test(token) && entropy(token) >= 3.5 ? `${prefix}${marker('secret-token')}` : undefined,
  },
  {
    // 13-19 digits, optionally grouped by spaces or dashes, with a card-network prefix and a valid Luhn sum.
    kind: 'card-number',
    pattern: /(?<![\d.-])[3-6]\d{3}(?:[ -]?\d){9,15}(?![\d-])/g,
    replace: (m) => {
      const digits = m.replace(/[ -]/g, '');
      if (digits.length < 13 || digits.length > 19) return undefined;
      // Mixed separators (1234-5678 9012 3456) are not how card numbers are written; digit runs in a
      // version or a timestamp rarely pass Luhn AND a network prefix, but grouped numbers need one style.
      const seps = m.match(/[ -]/g);
      if (seps && new Set(seps).size > 1) return undefined;
      return luhnValid(digits) ? marker('card-number') : undefined;
    },
  },
  {
    kind: 'iban',
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b/g,
    replace: (m) => (ibanValid(m) ? marker('iban') : undefined),
  },
  {
    kind: 'email',
    pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b/g,
  },
  {
    // International numbers only (+CC ...): bare digit runs are too often ids, sizes or timestamps.
    kind: 'phone',
    pattern: /(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w])/g,
    replace: (m) => {
      const digits = m.replace(/\D/g, '').length;
      return digits >= 8 && digits <= 15 ? marker('phone') : undefined;
    },
  },
];
