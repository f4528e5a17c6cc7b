import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAudit } from '../../../src/core/audit/log';
import { verifyWorkspaceAudit as verifyAudit } from '../../../src/core/govern/audit-verify';
import { checkEndpoint, guardedFetch } from '../../../src/core/net/egress';
import { egressLedger } from '../../../src/core/net/ledger';
import { RefusedError, UsageError } from '../../../src/core/util/errors';

const noDns = async (host: string): Promise<string[]> => {
  throw new Error(`DNS must not be used for ${host}`);
};
const fakeDns = (table: Record<string, string[]>) => async (host: string): Promise<string[]> => {
  const r = table[host];
  if (!r) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return r;
};

describe('egress guard: checkEndpoint', () => {
  const allowedByDefault = ['http://127.0.0.1:8080/v1', 'http://127.8.9.10/', 'http://[::1]:11434/api', 'http://10.1.2.3/', 'https://172.20.0.5/', 'http://192.168.1.7:8000', 'http://[fd12:3456::1]/', 'http://[::ffff:10.0.0.1]/'];
  for (const url of allowedByDefault) {
    it(`allows ${url} without DNS`, async () => {
      const c = await checkEndpoint(url, undefined, { lookup: noDns });
      assert.equal(c.allowed, true, c.reason);
    });
  }

  const refusedByDefault = ['http://192.0.2.1/', 'https://203.0.113.5:443/', 'http://198.51.100.7/', 'http://169.254.169.254/latest/meta-data/', 'http://100.64.0.1/', 'http://0.0.0.0:8080/', 'http://[2001:db8::1]/', 'http://172.32.0.1/', 'http://[fe80::1]/'];
  for (const url of refusedByDefault) {
    it(`refuses ${url}`, async () => {
      const c = await checkEndpoint(url, undefined, { lookup: noDns });
      assert.equal(c.allowed, false);
      assert.match(c.reason, /outside the allowed endpoints of the policy \(loopback and private networks by default\)/);
    });
  }

  it('resolves host names and refuses one that resolves outside, naming the address', async () => {
    const lookup = fakeDns({ 'api.vendor.example': ['203.0.113.5'], 'mixed.example': ['10.0.0.5', '198.51.100.9'], 'gpu.lan': ['192.168.3.4'] });
    const out = await checkEndpoint('https://api.vendor.example/v1/chat', undefined, { lookup });
    assert.equal(out.allowed, false);
    assert.equal(out.address, '203.0.113.5');
    assert.equal(out.origin, 'https://api.vendor.example');
    assert.match(out.reason, /^endpoint https:\/\/api\.vendor\.example \(resolves to 203\.0\.113\.5\) is outside/);
    const mixed = await checkEndpoint('http://mixed.example/', undefined, { lookup });
    assert.equal(mixed.allowed, false, 'one outside address is enough to refuse');
    assert.equal(mixed.address, '198.51.100.9');
    const lan = await checkEndpoint('http://gpu.lan:8080/', undefined, { lookup });
    assert.equal(lan.allowed, true);
    assert.deepEqual(lan.addresses, ['192.168.3.4']);
  });

  it('refuses a name it cannot resolve (fails closed)', async () => {
    const c = await checkEndpoint('http://nowhere.invalid/', undefined, { lookup: fakeDns({}) });
    assert.equal(c.allowed, false);
    assert.match(c.reason, /cannot resolve nowhere\.invalid \(ENOTFOUND\)/);
  });

  it('uses the policy rules: CIDRs, addresses, names and wildcards; loopback always stays allowed', async () => {
    const rules = ['192.168.10.0/24', '203.0.113.5', 'models.corp.example', '*.gpu.example'];
    const lookup = fakeDns({});
    const check = async (u: string): Promise<boolean> => (await checkEndpoint(u, rules, { lookup })).allowed;
    assert.equal(await check('http://192.168.10.20/'), true);
    assert.equal(await check('http://192.168.11.20/'), false, 'the given list replaces the default private ranges');
    assert.equal(await check('http://10.0.0.1/'), false);
    assert.equal(await check('http://203.0.113.5/'), true);
    assert.equal(await check('https://MODELS.corp.example/'), true);
    assert.equal(await check('https://a.b.gpu.example/'), true);
    assert.equal(await check('https://gpu.example/'), false);
    assert.equal(await check('http://127.0.0.1:9/'), true);
    assert.equal(await check('http://[::1]:9/'), true);
  });

  it('rejects a malformed rule with a usage error that says how to write one', async () => {
    await assert.rejects(checkEndpoint('http://127.0.0.1/', ['10.0.0.0/33']), (e: unknown) => e instanceof UsageError && /CIDR/.test(e.describe()));
    await assert.rejects(checkEndpoint('http://127.0.0.1/', ['http://x']), UsageError);
  });

  it('refuses non-network URLs', async () => {
    assert.equal((await checkEndpoint('file:///etc/passwd')).allowed, false);
    await assert.rejects(checkEndpoint('not a url'), UsageError);
  });
});

describe('egress guard: guardedFetch', () => {
  let root: string;
  let server: Server;
  let base: string;
  let hits: string[];

  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/redirect-out') {
        res.writeHead(302, { location: 'http://203.0.113.5:8080/steal' }).end();
      } else if (req.url === '/redirect-in') {
        res.writeHead(307, { location: '/ok' }).end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end(`hello ${req.url}`);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sovereign-egress-'));
    egressLedger.clear();
    hits = [];
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a non-allowed address before any connection, and logs the refusal', async () => {
    await assert.rejects(guardedFetch('http://203.0.113.5:8080/v1/completions', { method: 'POST', body: 'secret code' }, { audit: { root } }), (e: unknown) => {
      assert.ok(e instanceof RefusedError);
      assert.equal(e.exitCode, 1);
      assert.equal(e.message, 'endpoint http://203.0.113.5:8080 is outside the allowed endpoints of the policy (loopback and private networks by default)');
      assert.match(e.describe(), /add it to `endpoints.allowed` in \.sovereign\/policy\.yaml if it is yours/);
      return true;
    });
    // Nothing was sent: the test harness's socket guard would have failed the run on a connection to 203.0.113.5.
    const [entry] = await readAudit(root);
    assert.equal(entry.action, 'egress-refused');
    assert.equal(entry.subject, 'http://203.0.113.5:8080');
    assert.equal(entry.details?.address, '203.0.113.5');
    assert.ok(!JSON.stringify(entry).includes('secret code'), 'the body is never logged');
    assert.equal((await verifyAudit(root)).ok, true);
    const [rec] = egressLedger.list();
    assert.equal(rec.allowed, false);
    assert.equal(rec.origin, 'http://203.0.113.5:8080');
  });

  it('fetches from loopback, records it in the ledger each time and in the audit log once', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await guardedFetch(`${base}/ok?i=${i}`, {}, { audit: { root } });
      assert.equal(await res.text(), `hello /ok?i=${i}`);
    }
    assert.equal(egressLedger.list().length, 3);
    const [summary] = egressLedger.summary();
    assert.deepEqual({ origin: summary.origin, count: summary.count, allowed: summary.allowed }, { origin: base, count: 3, allowed: true });
    const entries = await readAudit(root);
    assert.deepEqual(entries.map((e) => [e.action, e.subject]), [['egress', base]]);
    assert.ok(!JSON.stringify(entries).includes('?i='), 'paths and queries are not logged');
  });

  it('checks every redirect: an allowed server cannot bounce the request outside', async () => {
    await assert.rejects(guardedFetch(`${base}/redirect-out`, {}, { audit: { root } }), RefusedError);
    assert.deepEqual(hits, ['/redirect-out'], 'the redirect target was never contacted');
    const actions = (await readAudit(root)).map((e) => e.action);
    assert.deepEqual(actions, ['egress', 'egress-refused']);
    const res = await guardedFetch(`${base}/redirect-in`);
    assert.equal(await res.text(), 'hello /ok');
  });

  it('returns the redirect itself with redirect: manual', async () => {
    const res = await guardedFetch(`${base}/redirect-out`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.deepEqual(hits, ['/redirect-out']);
  });
});
