/**
 * The worker side of the core worker's promise RPC, apart from the thread entry so it can be tested in
 * Node: checks each request's shape, finds its method as an own entry of the method table (never through
 * the prototype: `toString`, `constructor`, `__proto__` are unknown methods), and always answers
 * (result or error), never throws. A request that cannot be answered (no usable id) is dropped.
 */
import { describeError } from '../util/errors';
import type { WorkerMethod, WorkerMethods, WorkerReply } from './protocol';

/** What the worker runs for each method: the request id (for progress) and the method's arguments. */
export type WorkerImpl = { [M in WorkerMethod]: (id: number, ...args: Parameters<WorkerMethods[M]>) => Promise<ReturnType<WorkerMethods[M]>> };

const quote = (name: string): string => JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);

/** The method table as a null-prototype object: only the methods listed are in it. */
export function methodTable(methods: WorkerImpl): Readonly<WorkerImpl> {
  return Object.freeze(Object.assign(Object.create(null) as WorkerImpl, methods));
}

export async function serveWorkerRequest(methods: Readonly<WorkerImpl>, request: unknown, post: (reply: WorkerReply) => void): Promise<void> {
  if (typeof request !== 'object' || request === null) return;
  const { id, method, args } = request as { id?: unknown; method?: unknown; args?: unknown };
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) return;
  const fail = (message: string): void => post({ id, kind: 'error', message });
  if (typeof method !== 'string') return fail('a worker request needs a method name');
  const fn = Object.prototype.hasOwnProperty.call(methods, method) ? (methods[method as WorkerMethod] as unknown) : undefined;
  if (typeof fn !== 'function') return fail(`unknown worker method ${quote(method)}`);
  if (!Array.isArray(args)) return fail(`worker method ${quote(method)}: the arguments must be an array`);
  let result: unknown;
  try {
    result = await (fn as (id: number, ...rest: unknown[]) => Promise<unknown>)(id, ...args);
  } catch (err) {
    return fail(describeError(err));
  }
  try {
    post({ id, kind: 'result', result });
  } catch (err) {
    fail(`worker method ${quote(method)}: its result could not be sent (${describeError(err)})`);
  }
}
