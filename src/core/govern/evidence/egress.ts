import { isIP } from 'node:net';
import { compileRules, DEFAULT_ALLOWED_ENDPOINTS, LOOPBACK_RULES } from '../../net/endpoints';
import { summarizeEgress, type EgressSummary } from '../../net/ledger';
import type { AuditEntry } from '../../audit/log';

export type Locality = 'loopback' | 'private' | 'other';

export interface EndpointEvidence extends EgressSummary {
  /** Where the addresses are: loopback, private networks, or elsewhere (allowed only by a policy rule). */
  locality: Locality;
}

export interface EgressEvidence {
  endpoints: EndpointEvidence[];
  allowedConnections: number;
  refusedAttempts: number;
  /** Allowed endpoints outside loopback and private networks (each allowed by a policy rule). */
  outsidePrivate: string[];
  /** One sentence for the report. */
  statement: string;
}

const loopback = compileRules(LOOPBACK_RULES);
const privateRanges = compileRules(DEFAULT_ALLOWED_ENDPOINTS);

function localityOf(s: EgressSummary): Locality {
  const host = new URL(s.origin).hostname.replace(/^\[|\]$/g, '');
  const addresses = s.addresses.length ? s.addresses : isIP(host) ? [host] : [];
  const check = (rules: typeof loopback): boolean =>
    addresses.length > 0 ? addresses.every((a) => rules.addresses.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4')) : host === 'localhost' || host.endsWith('.localhost');
  if (check(loopback)) return 'loopback';
  if (check(privateRanges)) return 'private';
  return 'other';
}

/**
 * Every endpoint contacted in the period, from the audit log's `egress` and `egress-refused` entries
 * (the guard logs each allowed endpoint the first time a process contacts it, and every refusal) and
 * the endpoints named by `completion` and `model-load` entries.
 */
export function egressEvidence(entries: readonly AuditEntry[]): EgressEvidence {
  const records = entries
    .flatMap((e) => {
      if (e.action === 'egress' || e.action === 'egress-refused') {
        const address = typeof e.details?.address === 'string' ? e.details.address : undefined;
        return [{ origin: String(e.subject ?? ''), address, allowed: e.action === 'egress', time: e.time }];
      }
      // Completion and model-load entries name the endpoint they used: count those too.
      const endpoint = e.details?.endpoint;
      if ((e.action === 'completion' || e.action === 'model-load') && typeof endpoint === 'string') {
        try {
          return [{ origin: new URL(endpoint).origin, address: undefined, allowed: true, time: e.time }];
        } catch {
          return [];
        }
      }
      return [];
    })
    .filter((r) => r.origin !== '');
  const endpoints = summarizeEgress(records).map((s) => ({ ...s, locality: localityOf(s) }));
  const allowed = endpoints.filter((e) => e.allowed);
  const refused = endpoints.filter((e) => !e.allowed);
  const outsidePrivate = allowed.filter((e) => e.locality === 'other').map((e) => e.origin);
  const allowedConnections = allowed.reduce((n, e) => n + e.count, 0);
  const refusedAttempts = refused.reduce((n, e) => n + e.count, 0);
  const statement =
    (outsidePrivate.length === 0
      ? `No outbound call left loopback and private networks: ${allowed.length} endpoint(s) contacted, all local.`
      : `${outsidePrivate.length} endpoint(s) outside private networks were contacted, each allowed by a rule in endpoints.allowed: ${outsidePrivate.join(', ')}.`) +
    (refusedAttempts > 0 ? ` ${refusedAttempts} attempt(s) to reach other endpoints were refused before any connection was opened.` : ' No attempt was refused.');
  return { endpoints, allowedConnections, refusedAttempts, outsidePrivate, statement };
}
