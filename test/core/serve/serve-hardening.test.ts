import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RequestGuard, hostOf } from '../../../src/core/serve/request-guard';
import { ServeRuntime, type ServeOptions } from '../../../src/core/serve/server';
import { startServe, type RunningServer } from '../../../src/core/serve/start';
import { writeTinyLlama, type TinyLlamaInfo } from '../../fixtures/gguf/tiny-llama';
import { call } from './http-client';
import { rawClient, statusOf, within } from './raw-client';

const TOKEN = 'hardening-token-0123456789';

/** Options passed as a plain record so this file also runs (through tsx) against a server without them. */
function limits(o: Record<string, unknown>): ServeOptions {
  return o as ServeOptions;
}

function postHead(port: number, path: string, headers: Record<string, string | number>): string {
  return [`POST ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
}

/**
 * The serving runtime against slow, hostile and cross-site clients (issue 13): real sockets on 127.0.0.1,
 * the real engine on the generated GGUF.
 */
describe('sovereign serve against slow clients and web pages (real engine on 127.0.0.1)', function () {
  this.timeout(90000);
  let dir: string;
  let info: TinyLlamaInfo;
  let server: RunningServer;
  let port: number;
  const extra: ServeRuntime[] = [];

  /** Another front end on the same engine (no token unless given). */
  async function frontEnd(options: Record<string, unknown>): Promise<{ url: string; port: number }> {
    const runtime = new ServeRuntime(server.engine, limits({ port: 0, ...options }));
    extra.push(runtime);
    return runtime.listen();
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-serve-hard-'));
    info = await writeTinyLlama(join(dir, 'tiny.gguf'), { fim: true });
    server = await startServe({
      model: info.path, port: 0, token: TOKEN, parallel: 1, queue: 8, load: { threads: 1, contextSize: 512 },
      ...limits({ headersTimeoutMs: 500, requestTimeoutMs: 1500, idleTimeoutMs: 700 }),
    });
    port = server.port;
  });

  after(async () => {
    for (const r of extra) await r.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('disconnects a client that stalls in its headers once the headers timeout has passed', async () => {
    const c = await rawClient(port, `POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: app`);
    assert.ok(await within(c.closed, 4000), 'the stalled-header connection is still open after 4 s');
    const ms = await c.closed;
    assert.ok(ms >= 400, `closed after ${ms} ms, before the 500 ms headers timeout`);
  });

  it('a client that stalls in its body gets 408 and is disconnected; the same with a client that trickles its headers', async () => {
    const body = await rawClient(port, postHead(port, '/v1/completions', { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', 'Content-Length': 1000 }) + '{"prompt": "');
    // Slowloris: one header byte every 100 ms never completes the headers in time.
    const head = `POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: ${'a'.repeat(200)}`;
    const slow = await rawClient(port, head.slice(0, 40));
    let at = 40;
    const trickle = setInterval(() => slow.send(head[at++ % head.length]), 100);
    try {
      assert.ok(await within(body.closed, 4000), 'the stalled-body connection is still open after 4 s');
      assert.equal(statusOf(body.received()), 408, body.received());
      assert.ok(await within(slow.closed, 4000), 'the trickling-header connection is still open after 4 s');
    } finally {
      clearInterval(trickle);
      body.socket.destroy();
      slow.socket.destroy();
    }
  });

  it('does not cut a long generation: the request clocks stop once the request is in', async () => {
    const short = await frontEnd({ parallel: 1, queue: 64, headersTimeoutMs: 200, requestTimeoutMs: 400, idleTimeoutMs: 200 });
    const body = { prompt: 'a', max_tokens: 3000, temperature: 0 };
    assert.equal((await call(short.url, 'POST', '/v1/completions', body)).status, 200); // warm-up
    let t = performance.now();
    assert.equal((await call(short.url, 'POST', '/v1/completions', body)).status, 200);
    const one = performance.now() - t;
    // Enough requests in line behind one slot that the last one answers well after the 0.4 s request timeout;
    // the line grows until it takes long enough (a warm engine can be faster than the first measure).
    let n = Math.min(60, Math.ceil(1000 / one) + 1);
    let ms = 0;
    for (let attempt = 0; attempt < 3 && ms <= 800; attempt++, n = Math.min(60, n * 3)) { // the queue holds 64
      t = performance.now();
      const replies = await Promise.all(Array.from({ length: n }, () => call(short.url, 'POST', '/v1/completions', body)));
      ms = performance.now() - t;
      assert.deepEqual(replies.map((r) => r.status), replies.map(() => 200));
    }
    assert.ok(ms > 800, `${n} requests took only ${Math.round(ms)} ms: not a test of the request timeout`);
  });

  it('closes connections beyond the cap at once, and keeps serving the ones it has', async () => {
    const capped = await frontEnd({ maxConnections: 4 });
    const held = await Promise.all([0, 1, 2, 3].map(() => rawClient(capped.port)));
    await new Promise((r) => setTimeout(r, 100));
    const excess = await rawClient(capped.port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    try {
      assert.ok(await within(excess.closed, 1000), 'the 5th connection was not closed');
      assert.equal(excess.received(), '', 'nothing is answered on a connection beyond the cap');
      for (const h of held) assert.equal(h.socket.destroyed, false);
      held[0].send(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      for (let i = 0; i < 50 && !held[0].received(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(statusOf(held[0].received()), 200);
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });

  it('refuses a body before reading it: queue full -> 503, Content-Length above the limit -> 413; both close the connection', async () => {
    const tight = await frontEnd({ parallel: 1, queue: 0 });
    // The only place is taken by a request whose body never finishes.
    const holder = await rawClient(tight.port, postHead(tight.port, '/v1/completions', { 'Content-Type': 'application/json', 'Content-Length': 100 }) + '{');
    await new Promise((r) => setTimeout(r, 150));
    const refused = await rawClient(tight.port, postHead(tight.port, '/v1/completions', { 'Content-Type': 'application/json', 'Content-Length': 100 }));
    const huge = await rawClient(tight.port, postHead(tight.port, '/v1/completions', { 'Content-Type': 'application/json', 'Content-Length': 50 * 1024 * 1024 }));
    try {
      assert.ok(await within(refused.closed, 2000), 'no answer before the body');
      assert.equal(statusOf(refused.received()), 503, refused.received());
      assert.match(refused.received(), /connection: close/i);
      assert.ok(await within(huge.closed, 2000), 'the oversized request was not closed');
      assert.equal(statusOf(huge.received()), 413, huge.received());
    } finally {
      holder.socket.destroy();
      refused.socket.destroy();
      huge.socket.destroy();
    }
  });

  it('answers 401 without reading the body and closes the socket', async () => {
    const c = await rawClient(port, postHead(port, '/v1/completions', { Authorization: 'Bearer wrong', 'Content-Type': 'application/json', 'Content-Length': 500000 }));
    assert.ok(await within(c.closed, 2000), 'the unauthenticated connection stayed open');
    assert.equal(statusOf(c.received()), 401);
    assert.match(c.received(), /connection: close/i);
    // Also a GET (complete request): a wrong token does not keep its connection.
    const g = await rawClient(port, `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    assert.ok(await within(g.closed, 2000), 'the unauthenticated GET kept its connection');
    assert.equal(statusOf(g.received()), 401);
  });

  it('accepts the bearer scheme in any case', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      const r = await call(server.url, 'GET', '/v1/models', undefined, { Authorization: `${scheme} ${TOKEN}` });
      assert.equal(r.status, 200, scheme);
    }
    assert.equal((await call(server.url, 'GET', '/v1/models', undefined, { Authorization: `Basic ${TOKEN}` })).status, 401);
    assert.equal((await call(server.url, 'GET', '/v1/models', undefined, { Authorization: `bearer ${TOKEN}x` })).status, 401);
  });

  it('refuses a cross-site text/plain POST (no token configured), and any body that is not JSON', async () => {
    const open = await frontEnd({});
    const crossSite = await call(open.url, 'POST', '/v1/completions', JSON.stringify({ prompt: 'Hello', max_tokens: 2 }), {
      'Content-Type': 'text/plain', Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors',
    });
    assert.equal(crossSite.status, 403, crossSite.text);
    assert.match(crossSite.json<{ error: { message: string } }>().error.message, /cross-origin.*--cors-origin/);
    assert.equal(crossSite.headers['access-control-allow-origin'], undefined);
    const plain = await call(open.url, 'POST', '/v1/completions', JSON.stringify({ prompt: 'Hello', max_tokens: 2 }), { 'Content-Type': 'text/plain' });
    assert.equal(plain.status, 415);
    assert.match(plain.json<{ error: { message: string } }>().error.message, /application\/json/);
    assert.equal((await call(open.url, 'POST', '/v1/completions', '{"prompt":"Hello","max_tokens":2}', { 'Content-Type': 'application/x-www-form-urlencoded' })).status, 415);
    const charset = await call(open.url, 'POST', '/v1/completions', { prompt: 'Hello', max_tokens: 2, temperature: 0 }, { 'Content-Type': 'Application/JSON; charset=UTF-8' });
    assert.equal(charset.status, 200);
    assert.equal(charset.json<{ choices: { text: string }[] }>().choices[0].text, info.expectedCompletion('Hello', 2));
    // A cross-site GET (an <img>, a no-cors fetch) carries no Origin but Sec-Fetch-Site.
    assert.equal((await call(open.url, 'GET', '/v1/models', undefined, { 'Sec-Fetch-Site': 'cross-site' })).status, 403);
    assert.equal((await call(open.url, 'GET', '/v1/models', undefined, { 'Sec-Fetch-Site': 'same-site' })).status, 403);
    assert.equal((await call(open.url, 'GET', '/v1/models', undefined, { 'Sec-Fetch-Site': 'none' })).status, 200);
  });

  it('refuses a Host that does not name this server (DNS rebinding), with a clear message', async () => {
    const open = await frontEnd({});
    const rebound = await call(open.url, 'GET', '/v1/models', undefined, { Host: `attacker.example:${open.port}` });
    assert.equal(rebound.status, 403);
    assert.match(rebound.json<{ error: { message: string } }>().error.message, /Host header "attacker\.example:\d+" does not name this server.*--allowed-host/);
    const post = await call(open.url, 'POST', '/v1/completions', { prompt: 'Hello', max_tokens: 2 }, { Host: 'attacker.example' });
    assert.equal(post.status, 403);
    assert.equal((await call(open.url, 'GET', '/health', undefined, { Host: 'attacker.example' })).status, 403);
    assert.equal((await call(open.url, 'GET', '/v1/models', undefined, { Host: '192.168.1.10' })).status, 403);
    for (const host of [`127.0.0.1:${open.port}`, `localhost:${open.port}`, 'LOCALHOST', `127.0.0.2:${open.port}`, `[::1]:${open.port}`]) {
      assert.equal((await call(open.url, 'GET', '/v1/models', undefined, { Host: host })).status, 200, host);
    }
    const named = await frontEnd({ allowedHosts: ['models.internal'] });
    assert.equal((await call(named.url, 'GET', '/v1/models', undefined, { Host: `models.internal:${named.port}` })).status, 200);
    assert.equal((await call(named.url, 'GET', '/v1/models', undefined, { Host: 'evil.models.internal' })).status, 403);
  });

  it('refuses a foreign Origin unless configured; a configured origin gets CORS headers for exactly it, preflight included', async () => {
    const open = await frontEnd({});
    const body = { prompt: 'Hello', max_tokens: 2, temperature: 0 };
    assert.equal((await call(open.url, 'POST', '/v1/completions', body, { Origin: 'http://localhost:3000' })).status, 403);
    assert.equal((await call(open.url, 'POST', '/v1/completions', body, { Origin: 'null' })).status, 403);
    // The server's own origin is not cross-origin.
    const own = await call(open.url, 'POST', '/v1/completions', body, { Origin: open.url });
    assert.equal(own.status, 200);
    assert.equal(own.headers['access-control-allow-origin'], undefined);
    const noPreflight = await call(open.url, 'OPTIONS', '/v1/completions', undefined, { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST' });
    assert.equal(noPreflight.status, 403);
    assert.equal(noPreflight.headers['access-control-allow-origin'], undefined);

    const cors = await frontEnd({ corsOrigins: ['http://localhost:3000'] });
    const pre = await call(cors.url, 'OPTIONS', '/v1/completions', undefined, {
      Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, authorization', 'Sec-Fetch-Site': 'same-site',
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'http://localhost:3000');
    assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    assert.match(String(pre.headers['access-control-allow-headers']), /Content-Type/i);
    const allowed = await call(cors.url, 'POST', '/v1/completions', body, { Origin: 'http://localhost:3000', 'Sec-Fetch-Site': 'same-site' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers['access-control-allow-origin'], 'http://localhost:3000');
    assert.equal(allowed.headers.vary, 'Origin');
    const other = await call(cors.url, 'POST', '/v1/completions', body, { Origin: 'http://localhost:3001' });
    assert.equal(other.status, 403);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });

  it('when bound to a non-loopback address, accepts IP literals (container and published addresses) but not foreign names', () => {
    const any = new RequestGuard({ bound: '0.0.0.0' });
    for (const h of ['172.30.0.5:8080', '127.0.0.1:49152', '[fd00::5]:8080', 'localhost:8080', '10.1.2.3']) assert.ok(any.hostAllowed(h), h);
    for (const h of ['attacker.example', 'attacker.example:8080', 'sovereign-x-live:8080', '', 'a:b:c', '[::1', '1.2.3.4:port']) assert.ok(!any.hostAllowed(h), h);
    const named = new RequestGuard({ bound: '0.0.0.0', allowedHosts: ['sovereign-x-live', '.svc.cluster.local'] });
    for (const h of ['sovereign-x-live:8080', 'm.ns.svc.cluster.local', 'SOVEREIGN-X-LIVE.']) assert.ok(named.hostAllowed(h), h);
    const loop = new RequestGuard({ bound: '127.0.0.1' });
    assert.ok(!loop.hostAllowed('172.30.0.5:8080'));
    assert.ok(loop.hostAllowed('[::ffff:127.0.0.1]:80'));
    assert.equal(hostOf('Example.COM.:80'), 'example.com');
  });
});
