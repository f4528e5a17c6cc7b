/**
 * The benchmark's HTTP client connects to the address the egress check approved: a name is not resolved a
 * second time by the socket (a DNS-rebinding answer after the check would otherwise be followed).
 */
import assert from 'node:assert/strict';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openTarget } from '../../../src/core/bench/http';

describe('bench HTTP target: connections pinned to the checked addresses', () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((req, res) => res.end(JSON.stringify({ host: req.headers.host })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a name that resolves to loopback for the check and elsewhere afterwards is reached on loopback, and resolved once', async () => {
    const answers = [['127.0.0.1'], ['203.0.113.9']];
    let asked = 0;
    const target = await openTarget(`http://rebind.invalid:${port}/`, undefined, 2, { lookup: async () => answers[Math.min(asked++, 1)] });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        get(target.url, { agent: target.agent }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      // The request reached the loopback server with the name kept in Host; the name was looked up once (by the check).
      assert.deepEqual(JSON.parse(body), { host: `rebind.invalid:${port}` });
      assert.equal(asked, 1);
    } finally {
      target.close();
    }
  });
});
