import { strict as assert } from 'node:assert';
import { isIpcMessage, READY, ReadyGate, RemoteError, RpcEndpoint, RpcError, type IpcMessage, type MethodMap, type NotificationMap, type ResponseMessage } from '../../webview/shared/ipc';

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

describe('webview IPC: a request from the webview is not trusted', () => {
  /** A host endpoint fed raw messages, as `webview.onDidReceiveMessage` feeds it; its replies are collected. */
  function host(options: ConstructorParameters<typeof RpcEndpoint>[1] = {}): { endpoint: RpcEndpoint<HostMethods, MethodMap, { [READY]: undefined }, HostSends>; calls: string[]; ask: (method: string, params?: unknown) => Promise<ResponseMessage> } {
    const calls: string[] = [];
    const replies = new Map<number, (r: ResponseMessage) => void>();
    const endpoint = new RpcEndpoint<HostMethods, MethodMap, { [READY]: undefined }, HostSends>((m) => {
      if (m.kind === 'response') replies.get(m.id)?.(m);
    }, options);
    endpoint.handle('add', (p) => (calls.push('add'), p.a + p.b));
    endpoint.handle('fail', () => {
      calls.push('fail');
      throw new RpcError('cancelled', 'signing x@1 was cancelled by the user');
    });
    let id = 0;
    const ask = (method: string, params?: unknown): Promise<ResponseMessage> =>
      new Promise((resolve) => {
        replies.set(++id, resolve);
        assert.equal(endpoint.receive({ kind: 'request', id, method, params }), true);
      });
    return { endpoint, calls, ask };
  }
  const PROTOTYPE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'toLocaleString'];
  const checks = {
    add: (p: unknown) => (typeof p === 'object' && p !== null && typeof (p as { a?: unknown }).a === 'number' && typeof (p as { b?: unknown }).b === 'number' ? undefined : 'params must be {a: number, b: number}'),
    fail: (p: unknown) => (p === undefined ? undefined : 'it takes no params'),
  };

  for (const withChecks of [false, true]) {
    it(`answers Object.prototype names (${PROTOTYPE_NAMES.join(', ')}) as unknown methods and runs nothing (${withChecks ? 'host with schemas' : 'endpoint without schemas'})`, async () => {
      const refused: string[] = [];
      const { ask, calls } = host(withChecks ? { checks, onRefused: (method, code) => refused.push(`${method}:${code}`) } : {});
      for (const method of PROTOTYPE_NAMES) {
        const reply = await ask(method, { a: 1, b: 2 });
        assert.equal(reply.ok, false, `${method} must not be answered with a result: ${JSON.stringify(reply)}`);
        assert.ok(!reply.ok && reply.error.code === 'method-not-found', `${method}: ${JSON.stringify(reply)}`);
        assert.ok(!reply.ok && reply.error.message.includes(`"${method}"`), `the error names the method: ${JSON.stringify(reply)}`);
      }
      assert.deepEqual(calls, []);
      if (withChecks) assert.deepEqual(refused, PROTOTYPE_NAMES.map((m) => `${m}:method-not-found`));
      // The endpoint still works afterwards.
      const ok = await ask('add', { a: 2, b: 3 });
      assert.deepEqual(ok, { kind: 'response', id: PROTOTYPE_NAMES.length + 1, ok: true, result: 5 });
    });
  }

  it('answers params of the wrong shape with invalid-params naming the method and the problem; the handler is not called', async () => {
    const refused: string[] = [];
    const { ask, calls } = host({ checks, onRefused: (method, code, problem) => refused.push(`${method} ${code} ${problem}`) });
    for (const params of [undefined, null, 'a', [1, 2], { a: 1 }, { a: '1', b: 2 }]) {
      const reply = await ask('add', params);
      assert.ok(!reply.ok, JSON.stringify(params));
      assert.equal(reply.error.code, 'invalid-params');
      assert.match(reply.error.message, /^invalid params for "add": params must be \{a: number, b: number\}$/);
    }
    const reply = await ask('fail', { sneaky: true });
    assert.ok(!reply.ok && reply.error.code === 'invalid-params' && /"fail": it takes no params/.test(reply.error.message), JSON.stringify(reply));
    assert.deepEqual(calls, []);
    assert.equal(refused.length, 7);
    assert.match(refused[0], /^add invalid-params invalid params for "add"/);
  });

  it('refuses a served method that has no schema (fail closed), and a check that throws, without throwing', async () => {
    const { ask, calls } = host({
      checks: {
        add: () => {
          throw new Error('boom');
        },
      },
      onRefused: () => {
        throw new Error('a broken logger');
      },
    });
    const noSchema = await ask('fail');
    assert.ok(!noSchema.ok && noSchema.error.code === 'method-not-found' && /"fail" has no params schema/.test(noSchema.error.message), JSON.stringify(noSchema));
    const throwing = await ask('add', { a: 1, b: 2 });
    assert.ok(!throwing.ok && throwing.error.code === 'invalid-params' && /could not be checked: boom/.test(throwing.error.message), JSON.stringify(throwing));
    assert.deepEqual(calls, []);
  });

  it('carries a handler error code (RpcError) to the caller: a cancel is a RemoteError with code "cancelled"', async () => {
    const { host: h, view } = pair();
    h.handle('fail', () => {
      throw new RpcError('cancelled', 'signing x@1 was cancelled by the user');
    });
    await assert.rejects(view.request('fail', undefined), (err: unknown) => err instanceof RemoteError && err.code === 'cancelled' && /cancelled by the user/.test(err.message));
  });

  it('serve() answers like a posted request, without posting', async () => {
    const posted: IpcMessage[] = [];
    const endpoint = new RpcEndpoint<HostMethods, MethodMap, NotificationMap, NotificationMap>((m) => posted.push(m), { checks });
    endpoint.handle('add', ({ a, b }) => a + b);
    assert.deepEqual(await endpoint.serve({ kind: 'request', id: 7, method: 'add', params: { a: 1, b: 1 } }), { kind: 'response', id: 7, ok: true, result: 2 });
    const bad = await endpoint.serve({ kind: 'request', id: 8, method: 'constructor', params: {} });
    assert.equal(!bad.ok && bad.error.code, 'method-not-found');
    assert.deepEqual(posted, []);
  });

  it('accepts only known error codes in a reply', () => {
    assert.equal(isIpcMessage({ kind: 'response', id: 1, ok: false, error: { message: 'x', code: 'cancelled' } }), true);
    assert.equal(isIpcMessage({ kind: 'response', id: 1, ok: false, error: { message: 'x', code: 'toString' } }), false);
  });
});
