import { Worker } from 'node:worker_threads';
import type { WorkerMethod, WorkerMethods, WorkerReply } from './protocol';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onProgress?: (message: string, fraction?: number) => void;
}

/**
 * Promise RPC to the core worker thread (request ids, replies carry a result or an error). Started on
 * first use and unref'd, so it never keeps a process alive.
 */
export class WorkerClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly workerScript: string) {}

  call<M extends WorkerMethod>(
    method: M,
    args: Parameters<WorkerMethods[M]>,
    onProgress?: (message: string, fraction?: number) => void,
  ): Promise<ReturnType<WorkerMethods[M]>> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      worker.postMessage({ id, method, args });
    });
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.failAll(new Error('the worker was stopped'));
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerScript);
    worker.on('message', (reply: WorkerReply) => {
      if (typeof reply !== 'object' || reply === null || typeof reply.id !== 'number') return;
      const p = this.pending.get(reply.id);
      if (!p) return;
      if (reply.kind === 'progress') p.onProgress?.(reply.message, reply.fraction);
      else {
        this.pending.delete(reply.id);
        if (reply.kind === 'result') p.resolve(reply.result);
        else p.reject(new Error(reply.message));
      }
    });
    worker.on('error', (err) => {
      this.worker = undefined;
      this.failAll(err);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      if (code !== 0) this.failAll(new Error(`the worker exited with code ${code}`));
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }
}
