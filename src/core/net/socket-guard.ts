import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import { hostname as osHostname } from 'node:os';
import { RefusedError } from '../util/errors';
import { addressAllowed, compileRules, effectiveRules, hostAllowed, REFUSAL_HINT, stripBrackets, type CompiledRules, type EndpointRule } from './endpoints';

/** A connection (or name resolution) the guard saw going outside the allowed endpoints. */
export interface SocketViolation {
  time: string;
  kind: 'tcp' | 'udp' | 'dns';
  host?: string;
  address?: string;
  port?: number;
  /** Where it came from: the first frames outside node's internals and this file. */
  stack: string;
  /** Process that made it (children report through a file). */
  pid: number;
}

export interface SocketGuardOptions {
  /**
   * Allowed endpoints beyond loopback (loopback is always allowed). Default: private networks too. A
   * function is asked at each connection (a process learns its workspace policy lazily); it should cache.
   */
  allowed?: readonly EndpointRule[] | (() => readonly EndpointRule[] | undefined);
  /** Fail the connection at once, before any packet is sent (default true). */
  refuse?: boolean;
  /**
   * Also refuse resolving host names that no rule names (default false). A DNS query can itself leave
   * the machine; the test harness turns this on, a serving runtime leaves it off (names are resolved,
   * then the ADDRESSES are checked before connecting).
   */
  guardDns?: boolean;
  onViolation?: (v: SocketViolation) => void;
}

/** A connection the guard refused: exit 1 in the CLI, with the hint that says how to allow it. */
export class EgressViolationError extends RefusedError {
  readonly code = 'EGRESS_REFUSED';
  constructor(what: string) {
    super(
      `endpoint ${what} is outside the allowed endpoints (loopback, plus endpoints.allowed of the workspace policy, or private networks by default): the connection was refused before it was opened`,
      REFUSAL_HINT,
    );
  }
}

type AnyFn = (...args: unknown[]) => unknown;
type LookupCallback = (err: NodeJS.ErrnoException | null, address?: unknown, family?: number) => void;

/**
 * Process-wide guard on outbound sockets: wraps net.Socket#connect (so net, tls, http, https and
 * fetch/undici), dgram sends, and optionally dns.lookup. For a host name, the addresses are checked
 * AFTER resolution and BEFORE the connect, so a name that resolves outside is caught too.
 * For the CLI, the serving runtime and test processes; never inside the VS Code extension host (it
 * would govern every other extension's sockets). Returns a function that uninstalls it.
 */
export function installSocketGuard(options: SocketGuardOptions = {}): () => void {
  const compiledFor = new Map<readonly EndpointRule[] | undefined, CompiledRules>();
  const rulesNow = (): CompiledRules => {
    const given = typeof options.allowed === 'function' ? options.allowed() : options.allowed;
    let c = compiledFor.get(given);
    if (!c) {
      c = compileRules(effectiveRules(given));
      compiledFor.set(given, c);
    }
    return c;
  };
  if (typeof options.allowed !== 'function') rulesNow(); // a malformed rule fails the install, not a connection
  const refuse = options.refuse ?? true;
  const localNames = new Set(['localhost', osHostname().toLowerCase()]);

  const report = (v: Omit<SocketViolation, 'time' | 'stack' | 'pid'>): void => {
    const violation: SocketViolation = { time: new Date().toISOString(), ...v, stack: callerStack(), pid: process.pid };
    options.onViolation?.(violation);
  };
  const addrOk = (a: string): boolean => addressAllowed(rulesNow(), stripBrackets(a).replace(/%.*$/, ''));
  const nameOk = (h: string): boolean => net.isIP(h) !== 0 || localNames.has(h.toLowerCase()) || hostAllowed(rulesNow(), h);

  // --- TCP (net, tls, http, https, fetch) ---
  const originalConnect = net.Socket.prototype.connect as unknown as AnyFn;
  const guardedConnect = function (this: net.Socket, ...args: unknown[]): unknown {
    const target = connectTarget(args);
    if (!target || target.options.path !== undefined) return originalConnect.apply(this, args);
    const host = stripBrackets(String(target.options.host ?? 'localhost'));
    const port = Number(target.options.port);
    if (net.isIP(host)) {
      if (!addrOk(host)) {
        report({ kind: 'tcp', host, address: host, port });
        if (refuse) return failSocket(this, new EgressViolationError(`${host}:${port}`));
      }
      return originalConnect.apply(this, args);
    }
    // A name: check what it resolves to, in the lookup net itself calls right before connecting.
    const userLookup = target.options.lookup as AnyFn | undefined;
    const lookup = (name: string, opts: unknown, cb: LookupCallback): void => {
      const base = (userLookup ?? dns.lookup) as AnyFn;
      base(name, opts, (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => {
        if (err) return cb(err, address, family);
        const list = Array.isArray(address) ? (address as Array<{ address: string }>).map((a) => a.address) : [String(address)];
        const bad = list.find((a) => !addrOk(a));
        if (bad !== undefined && !hostAllowed(rulesNow(), name)) {
          report({ kind: 'tcp', host: name, address: bad, port });
          if (refuse) return cb(new EgressViolationError(`${name}:${port} (resolves to ${bad})`));
        }
        cb(null, address, family);
      });
    };
    target.replace({ ...target.options, lookup });
    return originalConnect.apply(this, args);
  };
  net.Socket.prototype.connect = guardedConnect as unknown as typeof net.Socket.prototype.connect;

  // --- UDP ---
  const originalSend = dgram.Socket.prototype.send as unknown as AnyFn;
  const originalUdpConnect = dgram.Socket.prototype.connect as unknown as AnyFn;
  const udpTarget = (args: unknown[]): { port?: number; address?: string } => {
    const port = args.find((a, i) => i > 0 && typeof a === 'number') as number | undefined;
    const address = args.find((a, i) => i > 0 && typeof a === 'string') as string | undefined;
    return { port, address };
  };
  const udpRefused = (socket: dgram.Socket, args: unknown[], what: string): boolean => {
    report({ kind: 'udp', host: what, address: net.isIP(what) ? what : undefined, port: udpTarget(args).port });
    if (!refuse) return false;
    const cb = args.find((a) => typeof a === 'function') as AnyFn | undefined;
    const err = new EgressViolationError(what);
    process.nextTick(() => (cb ? cb(err) : socket.emit('error', err)));
    return true;
  };
  dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]): void {
    let address = udpTarget(args).address;
    if (address === undefined) {
      try {
        address = this.remoteAddress().address; // a connected socket
      } catch {
        address = undefined; // unconnected, no address: node sends to localhost
      }
    }
    if (address !== undefined && !(net.isIP(address) ? addrOk(address) : nameOk(address)) && udpRefused(this, args, address)) return;
    originalSend.apply(this, args);
  } as typeof dgram.Socket.prototype.send;
  dgram.Socket.prototype.connect = function (this: dgram.Socket, ...args: unknown[]): void {
    const address = typeof args[1] === 'string' ? args[1] : undefined;
    if (address !== undefined && !(net.isIP(address) ? addrOk(address) : nameOk(address)) && udpRefused(this, args, address)) return;
    originalUdpConnect.apply(this, args);
  } as typeof dgram.Socket.prototype.connect;

  // --- DNS (optional) ---
  const originalLookup = dns.lookup;
  const originalPromisesLookup = dns.promises.lookup;
  if (options.guardDns) {
    const refusedName = (name: string): boolean => {
      if (nameOk(name)) return false;
      report({ kind: 'dns', host: name });
      return refuse;
    };
    dns.lookup = function (name: string, ...rest: unknown[]): void {
      if (refusedName(String(name))) {
        const cb = rest.find((a) => typeof a === 'function') as LookupCallback;
        const err = Object.assign(new EgressViolationError(`resolving ${name}`), { hostname: name });
        process.nextTick(() => cb(err));
        return;
      }
      (originalLookup as unknown as AnyFn).call(dns, name, ...rest);
    } as typeof dns.lookup;
    dns.promises.lookup = async function (name: string, ...rest: unknown[]) {
      if (refusedName(String(name))) throw new EgressViolationError(`resolving ${name}`);
      return (originalPromisesLookup as unknown as AnyFn).call(dns.promises, name, ...rest);
    } as typeof dns.promises.lookup;
  }

  // Guards stack: each wraps what was there and restores it (uninstall in reverse order of install).
  return () => {
    net.Socket.prototype.connect = originalConnect as unknown as typeof net.Socket.prototype.connect;
    dgram.Socket.prototype.send = originalSend as unknown as typeof dgram.Socket.prototype.send;
    dgram.Socket.prototype.connect = originalUdpConnect as unknown as typeof dgram.Socket.prototype.connect;
    dns.lookup = originalLookup;
    dns.promises.lookup = originalPromisesLookup;
  };
}

interface ConnectTarget {
  options: { host?: unknown; port?: unknown; path?: unknown; lookup?: unknown };
  replace(options: object): void;
}

/**
 * The connect target from Socket#connect's overloads: (options, cb), (port, host?, cb), (path, cb), and
 * node's own internal call with a normalized [options, cb] array (net.connect, tls.connect).
 */
function connectTarget(args: unknown[]): ConnectTarget | undefined {
  const first = args[0];
  if (Array.isArray(first)) {
    const normalized = first as unknown[];
    const options = normalized[0];
    if (!options || typeof options !== 'object') return undefined;
    // Replace the element, not the array: the array carries node's "already normalized" marker.
    return { options: options as ConnectTarget['options'], replace: (o) => (normalized[0] = o) };
  }
  if (first && typeof first === 'object') {
    return { options: first as ConnectTarget['options'], replace: (o) => (args[0] = o) };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    const host = typeof args[1] === 'string' ? args[1] : undefined;
    return {
      options: { port: first, host },
      replace: (o) => {
        // Rewrite the positional call as the equivalent options call so the guarded lookup is used.
        const cb = args.find((a) => typeof a === 'function');
        args.length = 0;
        args.push(o);
        if (cb) args.push(cb);
      },
    };
  }
  if (typeof first === 'string') return { options: { path: first }, replace: () => undefined };
  return undefined;
}

function failSocket(socket: net.Socket, err: Error): net.Socket {
  // Asynchronously, as a failed connect would: callers attach 'error' handlers after connect() returns.
  process.nextTick(() => socket.destroy(err));
  return socket;
}

function callerStack(): string {
  const lines = (new Error().stack ?? '').split('\n').slice(1);
  const useful = lines.filter((l) => !l.includes('node:') && !l.includes(__filename) && !/setup[\\/]no-egress|node_modules[\\/]mocha[\\/]/.test(l));
  return useful.slice(0, 6).map((l) => l.trim()).join('\n');
}
