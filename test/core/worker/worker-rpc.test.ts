import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerClient } from '../../../src/core/worker/client';
import type { WorkerMethod, WorkerReply } from '../../../src/core/worker/protocol';
import { methodTable, serveWorkerRequest, type WorkerImpl } from '../../../src/core/worker/serve';

const PROTOTYPE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'toLocaleString'];

/** The core worker's promise RPC: only the methods of its table are served, every request is answered, nothing throws. */
describe('core worker RPC: method lookup and request checks', () => {
  describe('serveWorkerRequest (the worker side, in Node)', () => {
    const calls: string[] = [];
    const methods = methodTable({
      hash: async (_id: number, path: string) => (calls.push(`hash ${path}`), 'digest'),
      scan: async () => {
        calls.push('scan');
        throw new Error('scan failed: no such file');
      },
    } as unknown as WorkerImpl);
    const serve = async (request: unknown): Promise<WorkerReply[]> => {
      const replies: WorkerReply[] = [];
      await serveWorkerRequest(methods, request, (r) => replies.push(r));
      return replies;
    };
    beforeEach(() => calls.splice(0));

    it('answers Object.prototype names as unknown methods and runs nothing', async () => {
      for (const method of PROTOTYPE_NAMES) {
        assert.deepEqual(await serve({ id: 1, method, args: [] }), [{ id: 1, kind: 'error', message: `unknown worker method "${method}"` }], method);
      }
      assert.deepEqual(await serve({ id: 2, method: 'nope', args: [] }), [{ id: 2, kind: 'error', message: 'unknown worker method "nope"' }]);
      assert.deepEqual(calls, []);
    });

    it('answers malformed requests with an error (or drops those without an id), never throws', async () => {
      assert.deepEqual(await serve({ id: 3, method: 'hash', args: 'not-an-array' }), [{ id: 3, kind: 'error', message: 'worker method "hash": the arguments must be an array' }]);
      assert.deepEqual(await serve({ id: 4, method: 42, args: [] }), [{ id: 4, kind: 'error', message: 'a worker request needs a method name' }]);
      for (const junk of [null, 'hash', 7, { method: 'hash', args: [] }, { id: 'x', method: 'hash', args: [] }]) assert.deepEqual(await serve(junk), [], JSON.stringify(junk));
      assert.deepEqual(calls, []);
    });

    it('serves its own methods: a result, or an error with the message', async () => {
      assert.deepEqual(await serve({ id: 5, method: 'hash', args: ['/m.gguf'] }), [{ id: 5, kind: 'result', result: 'digest' }]);
      assert.deepEqual(await serve({ id: 6, method: 'scan', args: [[]] }), [{ id: 6, kind: 'error', message: 'scan failed: no such file' }]);
      assert.deepEqual(calls, ['hash /m.gguf', 'scan']);
    });

    it('keeps its table free of a prototype', () => {
      assert.equal(Object.getPrototypeOf(methods), null);
      assert.equal(Object.isFrozen(methods), true);
    });
  });

  describe('WorkerClient and the real worker thread (out/src/core/worker/core-worker.js)', () => {
    let dir: string;
    let client: WorkerClient;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sovereign-worker-rpc-'));
      client = new WorkerClient(join(__dirname, '..', '..', '..', 'src', 'core', 'worker', 'core-worker.js'));
    });
    after(async () => {
      client.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it('answers unknown and Object.prototype methods with an error; the same worker thread keeps serving', async () => {
      const file = join(dir, 'weights.bin');
      await writeFile(file, 'not really weights');
      const expected = createHash('sha256').update('not really weights').digest('hex');
      assert.equal(await client.call('hash', [file]), expected);
      const thread = (client as unknown as { worker: unknown }).worker;
      assert.ok(thread, 'the worker thread is running');
      // A request in flight while the bad ones arrive must not be failed by them.
      const inFlight = client.call('hash', [file]);
      for (const method of [...PROTOTYPE_NAMES, 'noSuchMethod']) {
        await assert.rejects(client.call(method as WorkerMethod, [] as never), new RegExp(`^Error: unknown worker method "${method}"$`), method);
      }
      assert.equal(await inFlight, expected);
      assert.equal(await client.call('hash', [file]), expected);
      assert.equal((client as unknown as { worker: unknown }).worker, thread, 'the same worker thread (it did not crash)');
    });

    it('answers arguments that are not an array with an error', async () => {
      await assert.rejects(client.call('hash', 'x' as never), /worker method "hash": the arguments must be an array/);
    });
  });
});
