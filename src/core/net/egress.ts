import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { appendAudit } from '../audit/log';
import { RefusedError, UsageError } from '../util/errors';
import {
  addressAllowed,
  compileRules,
  effectiveRules,
  hostAllowed,
  REFUSAL_HINT,
  stripBrackets,
  type CompiledRules,
  type EndpointRule,
} from './endpoints';
import { egressLedger } from './ledger';
import { pinnedFetch } from './pinned-fetch';

export interface EndpointCheck {
  allowed: boolean;
  /** Why, in words (the refusal message when refused). */
  reason: string;
  /** The address that decided: the refused one, or the first allowed one. Absent for names trusted by rule. */
  address?: string;
  /** Every address the host resolved to (the literal itself for an IP). */
  addresses: string[];
  host: string;
  port: number;
  /** scheme://host:port, never the path or query (they can carry secrets). */
  origin: string;
}

export interface CheckOptions {
  /** Resolves a host name to all its addresses (default: dns.lookup, all families). Tests inject one. */
  lookup?: (host: string) => Promise<string[]>;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

const compiledCache = new Map<string, CompiledRules>();
function compiled(allowed?: readonly EndpointRule[]): CompiledRules {
  const rules = effectiveRules(allowed);
  const key = rules.join('\n');
  let c = compiledCache.get(key);
  if (!c) {
    c = compileRules(rules);
    compiledCache.set(key, c);
  }
  return c;
}

export { REFUSAL_HINT };

export function refusalMessage(origin: string, address: string | undefined): string {
  const where = address && address !== stripBrackets(new URL(origin).hostname) ? `${origin} (resolves to ${address})` : origin;
  return `endpoint ${where} is outside the allowed endpoints of the policy (loopback and private networks by default)`;
}

async function defaultLookup(host: string): Promise<string[]> {
  const results = await dnsLookup(host, { all: true, verbatim: true });
  return results.map((r) => r.address);
}

/**
 * Decides whether a URL may be contacted under the policy's allowed endpoints (default: loopback and
 * private networks; loopback is always allowed). IP literals are decided without DNS; every host name a
 * policy rule does not name, `localhost` and `*.localhost` included, is resolved and allowed only when
 * EVERY address it resolves to is allowed (a client may connect to any of them). A name that cannot be
 * resolved is refused (fail closed). `addresses` are what guardedFetch then connects to, and nothing else.
 */
export async function checkEndpoint(
  url: string | URL,
  allowed?: readonly EndpointRule[],
  options: CheckOptions = {},
): Promise<EndpointCheck> {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new UsageError(`"${String(url)}" is not a URL`, 'write it as http://host:port/path');
  }
  const host = stripBrackets(u.hostname);
  const port = u.port ? Number(u.port) : (DEFAULT_PORTS[u.protocol] ?? 0);
  const origin = `${u.protocol}//${u.host}`;
  const base = { host, port, origin };
  if (!(u.protocol in DEFAULT_PORTS)) {
    return { ...base, allowed: false, addresses: [], reason: `${u.protocol} is not a network protocol the egress guard allows (http, https, ws, wss)` };
  }
  const rules = compiled(allowed);

  if (isIP(host)) {
    const ok = addressAllowed(rules, host);
    return { ...base, allowed: ok, address: host, addresses: [host], reason: ok ? `${host} is in an allowed range` : refusalMessage(origin, host) };
  }
  // No name is trusted for being a loopback name: `localhost` and `*.localhost` are resolved and checked
  // like any other (a resolver that answers a public address for attacker.localhost is not followed).
  if (hostAllowed(rules, host)) {
    return { ...base, allowed: true, addresses: [], reason: `host name ${host} is allowed by the policy` };
  }
  let addresses: string[];
  try {
    addresses = await (options.lookup ?? defaultLookup)(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { ...base, allowed: false, addresses: [], reason: `cannot resolve ${host} (${code}): an endpoint that cannot be checked is refused` };
  }
  if (addresses.length === 0) {
    return { ...base, allowed: false, addresses, reason: `${host} resolves to no address: refused` };
  }
  const outside = addresses.find((a) => !addressAllowed(rules, a));
  if (outside !== undefined) {
    return { ...base, allowed: false, address: outside, addresses, reason: refusalMessage(origin, outside) };
  }
  return { ...base, allowed: true, address: addresses[0], addresses, reason: `${host} resolves only to allowed addresses (${addresses.join(', ')})` };
}

export interface EgressRecordOptions {
  /** Workspace whose audit log records the connection. */
  audit?: { root: string };
  /** Which code path made the connection (fetch, socket, a component's name). */
  via?: string;
}

/** Allowed connections are written to the audit log once per origin and address per process. */
const auditedAllowed = new Set<string>();

/**
 * Records a checked connection: always in the process's egress ledger, and in the workspace's audit log
 * when one is given (every refusal; an allowed endpoint the first time this process contacts it, so a
 * completion every keystroke does not flood the log). Audit write failures of ALLOWED connections are
 * kept in the ledger rather than thrown: the log must not stop a local completion.
 */
export async function recordEgress(check: EndpointCheck, options: EgressRecordOptions = {}): Promise<void> {
  const record = egressLedger.record({
    time: new Date().toISOString(),
    origin: check.origin,
    host: check.host,
    port: check.port,
    address: check.address,
    allowed: check.allowed,
    reason: check.reason,
    via: options.via ?? 'fetch',
    pid: process.pid,
  });
  const root = options.audit?.root;
  if (!root) return;
  const key = `${root}\n${check.origin}\n${check.address ?? ''}`;
  if (check.allowed && auditedAllowed.has(key)) return;
  const event = {
    action: check.allowed ? 'egress' : 'egress-refused',
    subject: check.origin,
    details: { host: check.host, port: check.port, address: check.address, addresses: check.addresses, reason: check.reason, via: record.via },
  };
  try {
    await appendAudit(root, event);
    if (check.allowed) auditedAllowed.add(key);
  } catch (err) {
    record.auditError = (err as Error).message;
    if (!check.allowed) throw err;
  }
}

/** Checks, records, and throws RefusedError (exit 1) when the endpoint is not allowed. */
export async function assertEndpointAllowed(
  url: string | URL,
  allowed?: readonly EndpointRule[],
  options: CheckOptions & EgressRecordOptions = {},
): Promise<EndpointCheck> {
  const check = await checkEndpoint(url, allowed, options);
  await recordEgress(check, options);
  if (!check.allowed) {
    throw new RefusedError(check.reason.startsWith('endpoint ') ? check.reason : `${check.origin}: ${check.reason}`, REFUSAL_HINT);
  }
  return check;
}

export interface GuardedFetchOptions extends CheckOptions, EgressRecordOptions {
  /** The policy's allowed endpoints (default: loopback and private networks). */
  allowed?: readonly EndpointRule[];
  /** Redirects followed, each one checked like the first request (default 5). */
  maxRedirects?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * fetch, behind the egress guard: the URL is checked BEFORE any connection is opened, and so is every
 * redirect (fetch would otherwise follow a redirect to any host). The request is then sent to the
 * addresses the check resolved and approved (pinnedFetch), so a name that resolves elsewhere the second
 * time (DNS rebinding) is not followed. Refused endpoints throw RefusedError and are recorded in the
 * ledger and, with `audit`, in the workspace's audit log.
 */
export async function guardedFetch(url: string | URL, init: RequestInit = {}, options: GuardedFetchOptions = {}): Promise<Response> {
  const follow = (init.redirect ?? 'follow') === 'follow';
  const maxRedirects = options.maxRedirects ?? 5;
  let current = new URL(String(url));
  let currentInit: RequestInit = { ...init, redirect: 'manual' };
  for (let hop = 0; ; hop++) {
    const check = await assertEndpointAllowed(current, options.allowed, options);
    // Connect to the addresses that were checked, never to what a second resolution would answer.
    const response = await pinnedFetch(current, currentInit, check.addresses);
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || !location) return response;
    if (init.redirect === 'error') throw new RefusedError(`${current.origin} answered with a redirect`, 'call the final URL directly');
    if (!follow) return response;
    if (hop >= maxRedirects) {
      throw new RefusedError(`more than ${maxRedirects} redirects from ${String(url)}`, 'call the final URL directly');
    }
    await response.body?.cancel();
    const next = new URL(location, current);
    currentInit = redirectInit(currentInit, response.status, next.origin !== current.origin);
    current = next;
  }
}

/** As the fetch standard: 303 (and 301/302 after POST) become GET without a body; credentials stay on-origin. */
function redirectInit(init: RequestInit, status: number, crossOrigin: boolean): RequestInit {
  const next: RequestInit = { ...init };
  const method = (init.method ?? 'GET').toUpperCase();
  if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
    next.method = 'GET';
    delete next.body;
  }
  if (crossOrigin && init.headers) {
    const headers = new Headers(init.headers);
    headers.delete('authorization');
    headers.delete('cookie');
    headers.delete('proxy-authorization');
    next.headers = headers;
  }
  return next;
}
