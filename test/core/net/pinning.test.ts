import assert from 'node:assert/strict';
import dns from 'node:dns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { checkEndpoint, guardedFetch } from '../../../src/core/net/egress';
import { compileRules, hostAllowed } from '../../../src/core/net/endpoints';
import { Mirror } from '../../../src/core/serve/mirror';

/**
 * DNS answers the test controls, for the real resolver functions (dns.lookup, dns.promises.lookup) that
 * the egress check and any connection use. `answers(name, n)` gets the n-th resolution of that name.
 */
function fakeResolver(answers: (name: string, n: number) => string[] | undefined): { calls: string[]; restore: () => void } {
  const calls: string[] = [];
  const counts = new Map<string, number>();
  const originalLookup = dns.lookup;
  const originalPromises = dns.promises.lookup;
  const answer = (name: string): string[] | undefined => {
    const n = (counts.get(name) ?? 0) + 1;
    counts.set(name, n);
    calls.push(name);
    return answers(name, n);
  };
  const entries = (list: string[]) => list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  dns.lookup = function (name: string, options: unknown, cb?: unknown): void {
    const callback = (typeof options === 'function' ? options : cb) as (...a: unknown[]) => void;
    const opts = (typeof options === 'object' && options) || {};
    const list = answer(name);
    if (!list) return void process.nextTick(() => (originalLookup as unknown as (...a: unknown[]) => void).call(dns, name, opts, callback));
    process.nextTick(() => ((opts as { all?: boolean }).all ? callback(null, entries(list)) : callback(null, list[0], entries(list)[0].family)));
  } as typeof dns.lookup;
  dns.promises.lookup = async function (name: string, options?: unknown) {
    const list = answer(name);
    if (!list) return (originalPromises as (n: string, o?: unknown) => Promise<unknown>).call(dns.promises, name, options);
    return (options as { all?: boolean })?.all ? entries(list) : entries(list)[0];
  } as typeof dns.promises.lookup;
  return {
    calls,
    restore: () => {
      dns.lookup = originalLookup;
      dns.promises.lookup = originalPromises;
    },
  };
}

describe('egress guard: loopback names are resolved, never trusted by name', () => {
  it('refuses attacker.localhost when it resolves outside (was allowed without resolving)', async () => {
    const lookup = async (host: string): Promise<string[]> => (host === 'attacker.localhost' ? ['203.0.113.9'] : ['127.0.0.1']);
    const c = await checkEndpoint('http://attacker.localhost:9/', undefined, { lookup });
    assert.equal(c.allowed, false, c.reason);
    assert.equal(c.address, '203.0.113.9');
    assert.match(c.reason, /attacker\.localhost:9 \(resolves to 203\.0\.113\.9\) is outside the allowed endpoints/);
  });

  it('allows a localhost name that resolves to loopback, and refuses one that cannot be resolved', async () => {
    const table: Record<string, string[]> = { localhost: ['127.0.0.1', '::1'], 'engine.localhost': ['127.0.0.1'] };
    const lookup = async (host: string): Promise<string[]> => {
      if (table[host]) return table[host];
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    };
    const local = await checkEndpoint('http://localhost:8080/', undefined, { lookup });
    assert.equal(local.allowed, true, local.reason);
    assert.deepEqual(local.addresses, ['127.0.0.1', '::1'], 'resolved, and these are the addresses guardedFetch connects to');
    assert.equal((await checkEndpoint('http://engine.localhost/', undefined, { lookup })).allowed, true);
    const unknown = await checkEndpoint('http://nothing.localhost/', undefined, { lookup });
    assert.equal(unknown.allowed, false);
    assert.match(unknown.reason, /cannot resolve nothing\.localhost/);
    const hijacked = await checkEndpoint('http://localhost:8080/', undefined, { lookup: async () => ['198.51.100.4'] });
    assert.equal(hijacked.allowed, false, 'even `localhost` is checked by what it resolves to');
  });

  it('gives `localhost` and `*.localhost` policy rules no power to trust a name (policy init wrote them)', async () => {
    const rules = compileRules(['127.0.0.0/8', 'localhost', '*.localhost', 'models.internal']);
    assert.equal(hostAllowed(rules, 'attacker.localhost'), false);
    assert.equal(hostAllowed(rules, 'localhost'), false);
    assert.equal(hostAllowed(rules, 'models.internal'), true);
    const c = await checkEndpoint('http://evil.localhost/', ['localhost', '*.localhost'], { lookup: async () => ['203.0.113.10'] });
    assert.equal(c.allowed, false);
  });

  it('the serving runtime refuses /admin/mirror to attacker.localhost resolving outside (it accepted it)', async () => {
    const dnsFake = fakeResolver((name) => (name === 'attacker.localhost' ? ['203.0.113.9'] : undefined));
    try {
      const mirror = new Mirror({});
      await assert.rejects(mirror.configure({ target: 'http://attacker.localhost:9', share: 1 } as Parameters<Mirror['configure']>[0]), (e: Error & { status?: number }) => {
        assert.match(e.message, /the mirror target is refused: endpoint http:\/\/attacker\.localhost:9 \(resolves to 203\.0\.113\.9\)/);
        return true;
      });
      assert.deepEqual(dnsFake.calls, ['attacker.localhost']);
    } finally {
      dnsFake.restore();
    }
  });
});

describe('egress guard: guardedFetch connects to the address it checked', () => {
  let server: Server;
  let port: number;
  let seen: Array<{ url: string; host?: string; method: string; body: string; headers: IncomingHttpHeaders }>;

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', host: req.headers.host, method: req.method ?? '', body, headers: req.headers });
        if (req.url === '/empty') return void res.writeHead(204).end();
        if (req.url === '/gzip') return void res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' }).end(gzipSync('unzipped'));
        if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
        if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: 1\n\n');
          return void setTimeout(() => res.end('data: 2\n\n'), 50);
        }
        res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] }).end(JSON.stringify({ url: req.url, host: req.headers.host, body }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    seen = [];
  });

  it('does not follow a second resolution that answers a different address (DNS rebinding)', async () => {
    // First answer loopback (allowed), every later one TEST-NET-3 (refused): the request must still go to
    // the loopback server, and the name must be resolved exactly once.
    const dnsFake = fakeResolver((name, n) => (name === 'rebind.test' ? [n === 1 ? '127.0.0.1' : '203.0.113.66'] : undefined));
    try {
      const res = await guardedFetch(`http://rebind.test:${port}/v1/models`);
      assert.equal(res.status, 200);
      const json = (await res.json()) as { url: string; host: string };
      assert.deepEqual(json, { url: '/v1/models', host: `rebind.test:${port}`, body: '' }, 'the Host header keeps the name');
      assert.deepEqual(dnsFake.calls, ['rebind.test'], 'resolved once, by the check; the connection used that answer');
    } finally {
      dnsFake.restore();
    }
  });

  it('with an injected lookup: asked once, and a different second answer is never used', async () => {
    let asked = 0;
    const lookup = async (): Promise<string[]> => (++asked === 1 ? ['127.0.0.1'] : ['203.0.113.67']);
    const dnsFake = fakeResolver((name) => (name === 'pinned.test' ? ['203.0.113.68'] : undefined));
    try {
      const res = await guardedFetch(`http://pinned.test:${port}/x`, {}, { lookup });
      assert.equal(res.status, 200);
      assert.equal(asked, 1);
      assert.deepEqual(dnsFake.calls, [], 'the system resolver was never asked');
    } finally {
      dnsFake.restore();
    }
  });

  it('behaves like fetch: POST bodies and headers, header lists, 204, gzip, streamed bodies, aborts', async () => {
    const post = await guardedFetch(`http://127.0.0.1:${port}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-one': '1' }, body: JSON.stringify({ a: 1 }) });
    assert.deepEqual(await post.json(), { url: '/echo', host: `127.0.0.1:${port}`, body: '{"a":1}' });
    assert.equal(seen[0].method, 'POST');
    assert.equal(seen[0].headers['x-one'], '1');
    assert.equal(seen[0].headers['content-length'], '7');
    assert.deepEqual(post.headers.getSetCookie(), ['a=1', 'b=2']);
    const text = await guardedFetch(`http://127.0.0.1:${port}/t`, { method: 'POST', body: 'plain' });
    await text.text();
    assert.equal(seen[1].headers['content-type'], 'text/plain;charset=UTF-8');

    const empty = await guardedFetch(`http://127.0.0.1:${port}/empty`);
    assert.equal(empty.status, 204);
    assert.equal(await empty.text(), '');
    assert.equal(await (await guardedFetch(`http://127.0.0.1:${port}/gzip`)).text(), 'unzipped');

    const stream = await guardedFetch(`http://127.0.0.1:${port}/stream`);
    const reader = stream.body!.getReader();
    const chunks: string[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value).toString());
    }
    assert.equal(chunks.join(''), 'data: 1\n\ndata: 2\n\n');

    await assert.rejects(guardedFetch(`http://127.0.0.1:${port}/slow`, { signal: AbortSignal.timeout(100) }), (e: Error) => e.name === 'TimeoutError');
    const controller = new AbortController();
    const pending = guardedFetch(`http://127.0.0.1:${port}/slow`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
    await assert.rejects(guardedFetch(`http://127.0.0.1:1/`), (e: Error & { cause?: { code?: string } }) => e instanceof TypeError && e.message === 'fetch failed' && e.cause?.code === 'ECONNREFUSED');
  });
});
