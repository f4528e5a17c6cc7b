import { marker, MARKER_PREFIX, RULES, type RedactionKind } from './rules';

export interface Redaction<T> {
  /** The input with every secret and personal datum replaced by `[REDACTED:kind]`. */
  value: T;
  /** How many were replaced. */
  count: number;
  /** Which kinds were found, sorted, each once. */
  kinds: RedactionKind[];
}

export interface TextRedaction {
  text: string;
  count: number;
  kinds: RedactionKind[];
}

/**
 * Removes secrets (keys, tokens, passwords, private keys, credentials in URLs) and personal data (email
 * addresses, card numbers, IBANs, international phone numbers) from a text before it is logged or
 * stored. Validators keep look-alikes (a timestamp is not a card number, `token: string` is not a token).
 */
export function redact(text: string): TextRedaction {
  const kinds = new Set<RedactionKind>();
  let count = 0;
  let out = text;
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    out = out.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      // String.replace passes the groups, then the offset (a number): keep only the groups.
      const groups: string[] = [];
      for (const g of rest) {
        if (typeof g === 'number') break;
        groups.push(g as string);
      }
      const replacement = rule.replace ? rule.replace(match, groups) : match.includes(MARKER_PREFIX) ? undefined : marker(rule.kind);
      if (replacement === undefined || replacement === match) return match;
      count++;
      kinds.add(rule.kind);
      return replacement;
    });
  }
  return { text: out, count, kinds: [...kinds].sort() };
}

/**
 * Keys whose value is secret whatever it looks like (`{"password": "x"}`, `headers.authorization`).
 * Matched on the last word of the key, like the text rules.
 */
const SECRET_KEY = /(?:^|[_.-]|[a-z](?=[A-Z]))(?:secret|password|passwd|passphrase|pwd|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|authorization|cookie|set-cookie|credentials?)$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) || /^(?:secret|password|passwd|passphrase|token|authorization|cookie|credentials?)$/i.test(key);
}

/**
 * Redacts every string inside a JSON-like value (objects, arrays, nested), and replaces the whole value
 * of secret-named keys. Returns a copy; the input is not changed. Non-JSON values (functions, symbols)
 * are dropped; Dates become ISO strings; cycles become "[circular]".
 */
export function redactValue<T>(value: T): Redaction<T> {
  const kinds = new Set<RedactionKind>();
  let count = 0;
  const seen = new WeakSet<object>();

  const visit = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') {
      if (key !== undefined && isSecretKey(key) && v.length > 0 && !v.startsWith(MARKER_PREFIX)) {
        count++;
        kinds.add('secret-assignment');
        return marker('secret-assignment');
      }
      const r = redact(v);
      count += r.count;
      r.kinds.forEach((k) => kinds.add(k));
      return r.text;
    }
    if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Date) return v.toISOString();
    if (typeof v !== 'object') return undefined;
    if (seen.has(v)) return '[circular]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((item) => visit(item) ?? null);
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) {
      const r = visit(item, k);
      if (r !== undefined) out[k] = r;
    }
    seen.delete(v);
    return out;
  };

  const result = visit(value) as T;
  return { value: result, count, kinds: [...kinds].sort() };
}
