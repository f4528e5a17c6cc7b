/** Violations grouped by model, then rule; exceptions with the days they have left. Pure. */
import type { ViolationRow, WaivedRow } from './contract';

export interface RuleGroup {
  rule: string;
  severity: 'error' | 'warning';
  items: ViolationRow[];
}

export interface ModelGroup {
  /** NAME@VERSION, or the file when a violation names no model (policy or alias file). */
  key: string;
  model?: string;
  version?: string;
  errors: number;
  warnings: number;
  rules: RuleGroup[];
}

export function groupViolations(rows: readonly ViolationRow[]): ModelGroup[] {
  const groups = new Map<string, ModelGroup>();
  for (const row of rows) {
    const key = row.model ? `${row.model}${row.version ? `@${row.version}` : ''}` : row.file;
    let g = groups.get(key);
    if (!g) {
      g = { key, model: row.model, version: row.version, errors: 0, warnings: 0, rules: [] };
      groups.set(key, g);
    }
    if (row.severity === 'error') g.errors++;
    else g.warnings++;
    let r = g.rules.find((x) => x.rule === row.rule);
    if (!r) {
      r = { rule: row.rule, severity: row.severity, items: [] };
      g.rules.push(r);
    }
    if (row.severity === 'error') r.severity = 'error';
    r.items.push(row);
  }
  const list = [...groups.values()];
  for (const g of list) g.rules.sort((a, b) => (a.severity !== b.severity ? (a.severity === 'error' ? -1 : 1) : a.rule < b.rule ? -1 : 1));
  // Most errors first, then most warnings, then by name: the worst model is at the top.
  return list.sort((a, b) => b.errors - a.errors || b.warnings - a.warnings || (a.key < b.key ? -1 : 1));
}

/** Whole days from `today` (YYYY-MM-DD) to `expires` (YYYY-MM-DD); negative when past. */
export function daysUntil(expires: string, today: string): number {
  const a = Date.parse(`${today}T00:00:00Z`);
  const b = Date.parse(`${expires}T00:00:00Z`);
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.NaN;
  return Math.round((b - a) / 86_400_000);
}

/** Exceptions soonest to expire first, with a word for how urgent. */
export function exceptionsByExpiry(rows: readonly WaivedRow[], today: string): (WaivedRow & { daysLeft: number; urgency: 'expired' | 'soon' | 'later' })[] {
  return rows
    .map((r) => {
      const daysLeft = daysUntil(r.expires, today);
      return { ...r, daysLeft, urgency: daysLeft < 0 ? ('expired' as const) : daysLeft <= 14 ? ('soon' as const) : ('later' as const) };
    })
    .sort((a, b) => a.daysLeft - b.daysLeft || (a.exceptionFor < b.exceptionFor ? -1 : 1));
}
