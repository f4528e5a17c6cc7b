import { appendFileSync } from 'node:fs';

/** One outbound connection attempt seen by the egress guard. */
export interface EgressRecord {
  time: string;
  origin: string;
  host: string;
  port: number;
  address?: string;
  allowed: boolean;
  reason: string;
  /** The code path: fetch, socket, or a component's name. */
  via: string;
  /** The process that made the attempt (one ledger file can be shared by a CLI and its children). */
  pid?: number;
  /** Set when the audit log could not record an allowed connection. */
  auditError?: string;
}

/** Endpoints contacted, grouped: what an auditor reads. */
export interface EgressSummary {
  origin: string;
  addresses: string[];
  allowed: boolean;
  count: number;
  first: string;
  last: string;
}

/**
 * Every connection attempt this process made through the guard, in memory (bounded) and, when
 * `persistTo` names a file (or SOVEREIGN_EGRESS_LEDGER is set), as JSON lines there too, so a serving
 * runtime in a container leaves its record on a mounted volume.
 */
export class EgressLedger {
  private readonly records: EgressRecord[] = [];
  private file: string | undefined = process.env.SOVEREIGN_EGRESS_LEDGER || undefined;

  constructor(private readonly limit = 10_000) {}

  persistTo(file: string | undefined): void {
    this.file = file;
  }

  record(r: EgressRecord): EgressRecord {
    this.records.push(r);
    // Oldest first out: the summary keeps counts for an auditor, the list is for debugging.
    if (this.records.length > this.limit) this.records.splice(0, this.records.length - this.limit);
    if (this.file) {
      try {
        appendFileSync(this.file, JSON.stringify(r) + '\n');
      } catch {
        // A ledger file that cannot be written must not break the connection; the memory copy remains.
      }
    }
    return r;
  }

  list(): readonly EgressRecord[] {
    return this.records;
  }

  clear(): void {
    this.records.length = 0;
  }

  summary(): EgressSummary[] {
    return summarizeEgress(this.records);
  }
}

export function summarizeEgress(records: Iterable<Pick<EgressRecord, 'origin' | 'address' | 'allowed' | 'time'>>): EgressSummary[] {
  const byKey = new Map<string, EgressSummary>();
  for (const r of records) {
    const key = `${r.allowed ? 'allowed' : 'refused'} ${r.origin}`;
    let s = byKey.get(key);
    if (!s) {
      s = { origin: r.origin, addresses: [], allowed: r.allowed, count: 0, first: r.time, last: r.time };
      byKey.set(key, s);
    }
    s.count++;
    if (r.address && !s.addresses.includes(r.address)) s.addresses.push(r.address);
    if (r.time < s.first) s.first = r.time;
    if (r.time > s.last) s.last = r.time;
  }
  return [...byKey.values()].sort((a, b) => Number(a.allowed) - Number(b.allowed) || a.origin.localeCompare(b.origin));
}

/** The process-wide ledger every guarded connection is recorded in. */
export const egressLedger = new EgressLedger();
