import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dns from 'node:dns';
import net, { type AddressInfo } from 'node:net';
import { installSocketGuard, type SocketViolation } from '../../../src/core/net/socket-guard';

/** Resolves with the socket's first event: 'connect' or the error. */
function outcome(socket: net.Socket): Promise<{ event: 'connect' } | { event: 'error'; error: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.destroy();
      resolve({ event: 'connect' });
    });
    socket.once('error', (error) => resolve({ event: 'error', error }));
  });
}

describe('socket guard (process-wide outbound connections)', () => {
  let violations: SocketViolation[];
  let uninstall: () => void;
  let server: net.Server;
  let port: number;

  before(async () => {
    server = net.createServer((s) => s.on('error', () => undefined).end('hi'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    violations = [];
    uninstall = installSocketGuard({ allowed: [], guardDns: true, onViolation: (v) => violations.push(v) });
  });
  afterEach(() => uninstall());

  it('refuses a TCP connection to a TEST-NET address at once, before connecting', async () => {
    const started = Date.now();
    const socket = net.connect(80, '192.0.2.1');
    const r = await outcome(socket);
    assert.equal(r.event, 'error');
    assert.equal((r as { error: NodeJS.ErrnoException }).error.code, 'EGRESS_REFUSED');
    assert.ok(Date.now() - started < 1000, 'no connect timeout: refused before any packet');
    assert.equal(socket.remoteAddress, undefined);
    assert.equal(violations.length, 1);
    assert.deepEqual({ kind: violations[0].kind, address: violations[0].address, port: violations[0].port }, { kind: 'tcp', address: '192.0.2.1', port: 80 });
    assert.match(violations[0].stack, /socket-guard\.test/);
  });

  it('covers every way of connecting: options, new Socket().connect, tls, fetch', async () => {
    assert.equal((await outcome(net.connect({ host: '203.0.113.5', port: 443 }))).event, 'error');
    assert.equal((await outcome(new net.Socket().connect(443, '198.51.100.1'))).event, 'error');
    const tls = await import('node:tls');
    assert.equal((await outcome(tls.connect({ host: '203.0.113.6', port: 443, servername: 'x' }))).event, 'error');
    await assert.rejects(fetch('http://203.0.113.7:8080/'), (e: Error & { cause?: { code?: string } }) => e.cause?.code === 'EGRESS_REFUSED');
    assert.deepEqual(violations.map((v) => v.address), ['203.0.113.5', '198.51.100.1', '203.0.113.6', '203.0.113.7']);
  });

  it('lets loopback through (TCP, by address and by name)', async () => {
    assert.equal((await outcome(net.connect(port, '127.0.0.1'))).event, 'connect');
    assert.equal((await outcome(net.connect({ port, host: 'localhost', family: 4 }))).event, 'connect');
    assert.deepEqual(violations, []);
  });

  it('checks the addresses a name resolves to, right before connecting', async () => {
    const lookup = ((_name: string, _opts: unknown, cb: (e: null, a: unknown, f?: number) => void) =>
      cb(null, [{ address: '198.51.100.20', family: 4 }])) as unknown as net.LookupFunction;
    const r = await outcome(net.connect({ host: 'innocent.example', port: 80, lookup }));
    assert.equal(r.event, 'error');
    assert.equal(violations[0].host, 'innocent.example');
    assert.equal(violations[0].address, '198.51.100.20');
  });

  it('refuses DNS resolution of outside names when asked (a query can leave the machine)', async () => {
    await assert.rejects(dns.promises.lookup('example.com'), /outside the allowed endpoints/);
    const err = await new Promise<Error | null>((r) => dns.lookup('example.org', (e) => r(e)));
    assert.match(String(err), /EgressViolationError|outside/);
    assert.deepEqual(violations.map((v) => [v.kind, v.host]), [['dns', 'example.com'], ['dns', 'example.org']]);
    assert.equal((await dns.promises.lookup('localhost')).address.length > 0, true);
  });

  it('refuses UDP datagrams to outside addresses', async () => {
    const sock = dgram.createSocket('udp4');
    try {
      const err = await new Promise<Error | null>((r) => sock.send('ping', 53, '192.0.2.53', (e) => r(e)));
      assert.ok(err);
      assert.equal(violations[0].kind, 'udp');
      assert.equal(violations[0].address, '192.0.2.53');
      const ok = await new Promise<Error | null>((r) => sock.send('ping', 9, '127.0.0.1', (e) => r(e)));
      assert.equal(ok, null);
    } finally {
      sock.close();
    }
  });

  it('records without refusing in report-only mode; guards stack and uninstall cleanly', async () => {
    uninstall();
    const reported: SocketViolation[] = [];
    const refused: SocketViolation[] = [];
    // Guards stack: the last installed runs first. The outer one only reports and passes the call on;
    // the inner one refuses, so nothing is ever sent.
    const inner = installSocketGuard({ allowed: [], onViolation: (v) => refused.push(v) });
    const outer = installSocketGuard({ refuse: false, allowed: [], onViolation: (v) => reported.push(v) });
    const r = await outcome(net.connect(9, '192.0.2.9'));
    outer();
    inner();
    assert.equal(r.event, 'error');
    assert.deepEqual(reported.map((v) => v.address), ['192.0.2.9']);
    assert.deepEqual(refused.map((v) => v.address), ['192.0.2.9']);
    uninstall = installSocketGuard({ allowed: [], onViolation: (v) => violations.push(v) });
    assert.equal((await outcome(net.connect(port, '127.0.0.1'))).event, 'connect');
  });
});
