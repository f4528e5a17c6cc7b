import { BlockList, isIP } from 'node:net';
import { UsageError } from '../util/errors';

/**
 * An allowed endpoint, as written in `endpoints.allowed` of .sovereign/policy.yaml:
 *   "10.0.0.0/8", "fd00::/8"        a CIDR range
 *   "192.168.1.20", "::1"           one address
 *   "models.internal"               a host name (exact, case-insensitive)
 *   "*.corp.example"                any subdomain of corp.example (not corp.example itself)
 * A host name rule trusts the NAME, whatever it resolves to (the policy owner says it is theirs). A name
 * no rule names is allowed only when every address it resolves to is allowed.
 * `localhost` and `*.localhost` rules are accepted but trust no name: a loopback name is allowed when it
 * RESOLVES to loopback (always allowed), like any other name; `attacker.localhost` resolving to a public
 * address is refused.
 */
export type EndpointRule = string;

/**
 * Loopback: always allowed, whatever the policy says; the product talks to its own local runtime. Only
 * addresses: a name (even `localhost`) is resolved and allowed when what it resolves to is loopback.
 */
export const LOOPBACK_RULES: readonly EndpointRule[] = ['127.0.0.0/8', '::1/128'];

/**
 * The default allowed endpoints: loopback and the private ranges of RFC 1918 and RFC 4193.
 * NOT included, on purpose:
 *   169.254.0.0/16, fe80::/10  link-local: 169.254.169.254 is the cloud metadata service, the classic
 *                              way to steal a machine's credentials
 *   100.64.0.0/10              carrier-grade NAT (Tailscale and similar use it): add it if it is yours
 *   0.0.0.0/8, ::              "this host": connects to loopback on Linux, but no client should name it
 */
export const DEFAULT_ALLOWED_ENDPOINTS: readonly EndpointRule[] = [
  ...LOOPBACK_RULES,
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
];

/** What to do about a refused endpoint, in every refusal message. */
export const REFUSAL_HINT = 'add it to `endpoints.allowed` in .sovereign/policy.yaml if it is yours';

export interface CompiledRules {
  /** The rules as given (for messages). */
  rules: readonly EndpointRule[];
  addresses: BlockList;
  hosts: Set<string>;
  suffixes: string[];
}

/** Parses rules once; throws UsageError for a rule that is neither a CIDR, an address nor a host name. */
export function compileRules(rules: readonly EndpointRule[]): CompiledRules {
  const addresses = new BlockList();
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of rules) {
    const rule = String(raw).trim();
    const slash = rule.indexOf('/');
    if (slash > 0) {
      const base = stripBrackets(rule.slice(0, slash));
      const prefix = Number(rule.slice(slash + 1));
      const family = isIP(base);
      if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
        throw badRule(rule);
      }
      addresses.addSubnet(base, prefix, family === 4 ? 'ipv4' : 'ipv6');
    } else if (isIP(stripBrackets(rule))) {
      const address = stripBrackets(rule);
      addresses.addAddress(address, isIP(address) === 4 ? 'ipv4' : 'ipv6');
    } else if (/^\*\.[a-z0-9-]+(\.[a-z0-9-]+)*$/i.test(rule)) {
      if (!isLocalhostName(rule.slice(2))) suffixes.push(rule.slice(1).toLowerCase());
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(rule)) {
      if (!isLocalhostName(rule)) hosts.add(rule.replace(/\.$/, '').toLowerCase());
    } else {
      throw badRule(rule);
    }
  }
  return { rules, addresses, hosts, suffixes };
}

/**
 * `localhost` and names under `.localhost` (RFC 6761): never trusted by name. Resolvers are SUPPOSED to
 * answer loopback for them, but a resolver (or /etc/hosts, or a DNS server) that answers otherwise would
 * make `http://attacker.localhost` reach anywhere; they are resolved and checked like any other name.
 */
export function isLocalhostName(host: string): boolean {
  const name = host.replace(/\.$/, '').toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost');
}

function badRule(rule: string): UsageError {
  return new UsageError(
    `"${rule}" is not an endpoint rule`,
    'write a CIDR (10.0.0.0/8), an address (192.168.1.20), a host name (models.internal) or *.domain in endpoints.allowed',
  );
}

export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The rule list actually enforced: loopback first (always), then the given rules (default: private ranges). */
export function effectiveRules(allowed?: readonly EndpointRule[]): EndpointRule[] {
  return [...new Set([...LOOPBACK_RULES, ...(allowed ?? DEFAULT_ALLOWED_ENDPOINTS)])];
}

export function addressAllowed(compiled: CompiledRules, address: string): boolean {
  const family = isIP(address);
  if (!family) return false;
  return compiled.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export function hostAllowed(compiled: CompiledRules, host: string): boolean {
  const name = host.replace(/\.$/, '').toLowerCase();
  return compiled.hosts.has(name) || compiled.suffixes.some((s) => name.endsWith(s));
}

export function isLoopbackAddress(address: string): boolean {
  return addressAllowed(loopbackOnly(), address);
}

let loopbackCompiled: CompiledRules | undefined;
export function loopbackOnly(): CompiledRules {
  return (loopbackCompiled ??= compileRules(LOOPBACK_RULES));
}
