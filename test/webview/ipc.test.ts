import { strict as assert } from 'node:assert';
import { isIpcMessage, READY, ReadyGate, RemoteError, RpcEndpoint, type IpcMessage, type MethodMap, type NotificationMap } from '../../webview/shared/ipc';

type HostMethods = { add: (p: { a: number; b: number }) => number; fail: (p: undefined) => never; slow: (p: { ms: number }) => string };
type HostSends = { state: { n: number } };

/** Two endpoints joined like a panel and its webview: each post is delivered asynchronously, as postMessage does. */
function pair(): { host: RpcEndpoint<HostMethods, MethodMap, { [READY]: undefined }, HostSends>; view: RpcEndpoint<MethodMap, HostMethods, HostSends, { [READY]: undefined }>; wire: IpcMessage[] } {
  const wire: IpcMessage[] = [];
  // eslint-disable-next-line prefer-const
  let host: RpcEndpoint<HostMethods, MethodMap, { [READY]: undefined }, HostSends>;
  const view = new RpcEndpoint<MethodMap, HostMethods, HostSends, { [READY]: undefined }>((m) => {
    wire.push(m);
    queueMicrotask(() => host.receive(structuredClone(m)));
  });
  host = new RpcEndpoint<HostMethods, MethodMap, { [READY]: undefined }, HostSends>((m) => {
    wire.push(m);
    queueMicrotask(() => view.receive(structuredClone(m)));
  });
  return { host, view, wire };
}

describe('webview IPC: request/response RPC', () => {
  it('answers requests with results, each reply carrying its request id', async () => {
    const { host, view, wire } = pair();
    host.handle('add', ({ a, b }) => a + b);
    const [x, y] = await Promise.all([view.request('add', { a: 1, b: 2 }), view.request('add', { a: 10, b: 20 })]);
    assert.equal(x, 3);
    assert.equal(y, 30);
    const requests = wire.filter((m) => m.kind === 'request');
    const responses = wire.filter((m) => m.kind === 'response');
    assert.deepEqual(requests.map((m) => m.kind === 'request' && m.id), [1, 2]);
    assert.deepEqual(new Set(responses.map((m) => m.kind === 'response' && m.id)), new Set([1, 2]));
  });

  it('turns a throwing handler into an error reply that rejects the caller with the message', async () => {
    const { host, view, wire } = pair();
    host.handle('fail', () => {
      throw new Error('the manifest is gone');
    });
    await assert.rejects(view.request('fail', undefined), (err: unknown) => err instanceof RemoteError && err.message === 'the manifest is gone' && err.method === 'fail');
    const reply = wire.find((m) => m.kind === 'response');
    assert.deepEqual(reply, { kind: 'response', id: 1, ok: false, error: { message: 'the manifest is gone' } });
  });

  it('answers an unknown method with an error, not silence', async () => {
    const { view } = pair();
    await assert.rejects(view.request('add', { a: 1, b: 1 }), /unknown method "add"/);
  });

  it('rejects a request that gets no reply in time, and pending requests when disposed', async () => {
    const lost: IpcMessage[] = [];
    const lonely = new RpcEndpoint<MethodMap, HostMethods, NotificationMap, NotificationMap>((m) => lost.push(m), { timeoutMs: 20 });
    await assert.rejects(lonely.request('slow', { ms: 1 }), /no answer to slow/);
    const closing = new RpcEndpoint<MethodMap, HostMethods, NotificationMap, NotificationMap>(() => undefined, { timeoutMs: 0 });
    const pending = closing.request('slow', { ms: 1 });
    closing.dispose();
    await assert.rejects(pending, /the view was closed/);
    await assert.rejects(closing.request('slow', { ms: 1 }), /the view was closed/);
    assert.equal(lost.length, 1);
  });

  it('ignores malformed messages and replies nobody asked for', () => {
    const { host } = pair();
    for (const junk of [null, 42, 'ready', {}, { kind: 'request' }, { kind: 'request', id: 1.5, method: 'add' }, { kind: 'response', id: 1, ok: false }, { kind: 'evil', method: 'x' }]) {
      assert.equal(isIpcMessage(junk), false, JSON.stringify(junk));
      assert.equal(host.receive(junk), false);
    }
    assert.equal(host.receive({ kind: 'response', id: 99, ok: true, result: 1 }), false);
  });

  it('delivers notifications to every listener until unsubscribed', async () => {
    const { host, view } = pair();
    const seen: number[] = [];
    const off = view.on('state', (s) => seen.push(s.n));
    view.on('state', (s) => seen.push(s.n * 10));
    host.notify('state', { n: 1 });
    await new Promise((r) => setTimeout(r, 0));
    off();
    host.notify('state', { n: 2 });
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(seen, [1, 10, 20]);
  });
});

describe('webview IPC: ready handshake (ReadyGate)', () => {
  it('sends nothing before ready, then the latest value of each notification', () => {
    const sent: [string, unknown][] = [];
    const gate = new ReadyGate<{ state: { n: number }; other: string }>((m, p) => sent.push([m, p]));
    gate.publish('state', { n: 1 });
    gate.publish('other', 'x');
    gate.publish('state', { n: 2 });
    assert.deepEqual(sent, []);
    gate.markReady();
    assert.deepEqual(sent, [
      ['other', 'x'],
      ['state', { n: 2 }],
    ]);
    gate.publish('state', { n: 3 });
    assert.deepEqual(sent.at(-1), ['state', { n: 3 }]);
  });

  it('holds messages while the webview is gone (hidden) and replays the state when it says ready again', () => {
    const sent: unknown[] = [];
    const gate = new ReadyGate<{ state: number }>((_m, p) => sent.push(p));
    gate.markReady();
    gate.publish('state', 1);
    gate.markGone();
    gate.publish('state', 2);
    assert.deepEqual(sent, [1]);
    assert.equal(gate.isReady, false);
    gate.markReady();
    assert.deepEqual(sent, [1, 2]);
  });

  it('works end to end: the host answers READY from the webview with its state', async () => {
    const { host, view } = pair();
    const gate = new ReadyGate<HostSends>((m, p) => host.notify(m, p));
    host.on(READY, () => gate.markReady());
    gate.publish('state', { n: 7 });
    const got = new Promise<{ n: number }>((resolve) => view.on('state', resolve));
    view.notify(READY, undefined);
    assert.deepEqual(await got, { n: 7 });
  });
});
