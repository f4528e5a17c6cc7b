/**
 * What keeps web pages away from the local model (the known attack on local inference servers: any page
 * the user opens can send requests to 127.0.0.1, and with DNS rebinding read the answers).
 *
 * - Host: must name this server: a loopback address (127.0.0.0/8, [::1]), `localhost`, the address it is
 *   bound to, or a configured name (`--allowed-host`). When bound to a non-loopback address (a container,
 *   0.0.0.0) any IP literal is accepted too: DNS rebinding needs a NAME the attacker controls, and a browser
 *   writes an IP literal into Host only when it connected to that very address (published ports, container
 *   and cluster IPs reach the server under addresses it cannot know).
 * - Browsers: a request with an `Origin` other than the server's own origin, or with
 *   `Sec-Fetch-Site: cross-site|same-site`, is refused unless that origin is configured (`--cors-origin`);
 *   then, and only then, CORS headers name exactly that origin (preflight included).
 * - Request bodies must be JSON (checked in http-util): a cross-site form or `text/plain` POST needs no
 *   preflight, `application/json` does.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { UsageError } from '../util/errors';
import { HttpError } from './http-util';

export interface RequestGuardOptions {
  /** The address or name the server binds (`--host`). */
  bound: string;
  /** Extra names the Host header may carry (exact, case-insensitive; a leading dot allows a domain and its subdomains). */
  allowedHosts?: readonly string[];
  /** Browser origins allowed to call (CORS), e.g. `http://localhost:3000`. */
  corsOrigins?: readonly string[];
}

const CORS_METHODS = 'GET, POST, PUT, DELETE, OPTIONS';
const CORS_HEADERS = 'Authorization, Content-Type, X-Sovereign-Shadow';

export class RequestGuard {
  private readonly names: Set<string>;
  private readonly domains: string[];
  private readonly origins: Set<string>;
  private readonly anyIpLiteral: boolean;
  private readonly bound: string;

  constructor(options: RequestGuardOptions) {
    this.bound = normalizeHost(options.bound);
    this.anyIpLiteral = !isLoopbackName(this.bound);
    const names = (options.allowedHosts ?? []).map((h) => {
      const n = h.trim().toLowerCase().replace(/\.$/, '');
      if (!n || !/^\.?[a-z0-9_.:[\]-]+$/.test(n)) throw new UsageError(`--allowed-host "${h}" is not a host name`, 'give a name such as models.internal (a leading dot allows a domain and its subdomains)');
      return n;
    });
    this.names = new Set(names.filter((n) => !n.startsWith('.')).map(normalizeHost));
    this.domains = names.filter((n) => n.startsWith('.'));
    this.origins = new Set((options.corsOrigins ?? []).map(parseOrigin));
  }

  /**
   * Refuses what is not for this server (HttpError 403) and adds the CORS headers of a configured origin.
   * Returns true when the request was a CORS preflight and has been answered.
   */
  check(req: IncomingMessage, res: ServerResponse): boolean {
    const hostHeader = req.headers.host;
    // HTTP/1.0 clients may leave Host out; browsers always send it.
    if (hostHeader !== undefined && !this.hostAllowed(hostHeader)) {
      throw new HttpError(
        403,
        `the Host header "${hostHeader.slice(0, 100)}" does not name this server: it answers to loopback addresses, localhost${this.anyIpLiteral ? ', IP addresses' : ''} and the names given with --allowed-host (a page that reaches this port under another name is refused: DNS rebinding)`,
        'permission_error',
      );
    }
    const origin = req.headers.origin;
    const configured = origin !== undefined && this.origins.has(origin.toLowerCase());
    if (configured) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    } else {
      const site = req.headers['sec-fetch-site'];
      const crossSite = site === 'cross-site' || site === 'same-site';
      // Same origin: the page was served by this server (directly, or behind a TLS proxy that keeps Host).
      const own = hostHeader === undefined ? [] : [`http://${hostHeader.toLowerCase()}`, `https://${hostHeader.toLowerCase()}`];
      const foreignOrigin = origin !== undefined && !own.includes(origin.toLowerCase());
      if (crossSite || foreignOrigin) {
        throw new HttpError(
          403,
          `cross-origin requests from web pages are refused${origin ? ` (Origin ${origin.slice(0, 100)})` : ''}: start serve with --cors-origin ORIGIN to let one web origin call this server`,
          'permission_error',
        );
      }
    }
    if (req.method === 'OPTIONS') {
      const headers: Record<string, string> = { Allow: CORS_METHODS, 'Content-Length': '0' };
      if (configured) {
        headers['Access-Control-Allow-Methods'] = CORS_METHODS;
        headers['Access-Control-Allow-Headers'] = CORS_HEADERS;
        headers['Access-Control-Max-Age'] = '600';
      }
      res.writeHead(204, headers);
      res.end();
      return true;
    }
    return false;
  }

  hostAllowed(hostHeader: string): boolean {
    const host = hostOf(hostHeader);
    if (host === undefined) return false;
    if (isLoopbackName(host)) return true;
    if (host === this.bound) return true;
    if (isIP(host)) return this.anyIpLiteral;
    if (this.names.has(host)) return true;
    return this.domains.some((d) => host.endsWith(d) || host === d.slice(1));
  }
}

/** The host part of a Host header, lower case, without port, brackets or a trailing dot; undefined when malformed. */
export function hostOf(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  let host: string;
  let port: string | undefined;
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    host = h.slice(1, end);
    const rest = h.slice(end + 1);
    if (rest && !rest.startsWith(':')) return undefined;
    port = rest ? rest.slice(1) : undefined;
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = h.indexOf(':');
    if (colon !== h.lastIndexOf(':')) return undefined;
    host = colon >= 0 ? h.slice(0, colon) : h;
    port = colon >= 0 ? h.slice(colon + 1) : undefined;
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return undefined;
  host = host.replace(/\.$/, '');
  if (!host || !/^[a-z0-9_.:-]+$/.test(host)) return undefined;
  return normalizeHost(host);
}

function normalizeHost(host: string): string {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) compares as IPv4.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped ? mapped[1] : h;
}

/** localhost, 127.0.0.0/8, ::1. */
export function isLoopbackName(host: string): boolean {
  const h = normalizeHost(host);
  if (h === 'localhost' || h === 'localhost.') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(h) || h === '0:0:0:0:0:0:0:1';
  return false;
}

function parseOrigin(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`--cors-origin "${value}" is not an origin`, 'give scheme://host[:port], e.g. http://localhost:3000');
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || value.endsWith('/')) {
    throw new UsageError(`--cors-origin "${value}" must be an origin only: scheme://host[:port], no path or trailing slash`, 'e.g. http://localhost:3000');
  }
  return u.origin.toLowerCase();
}
