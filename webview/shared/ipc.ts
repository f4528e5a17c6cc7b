/**
 * The message protocol every Sovereign webview speaks with its host (shared, type for type, by the
 * extension and the browser bundles; no DOM and no `vscode` here, so both sides and the Node tests use it).
 *
 * - Requests carry an id; the reply carries the same id and either a result or an error
 *   (promise RPC over postMessage, as vscode-pull-request-github does).
 * - Notifications carry no id and get no reply (state pushed by the host, `ready` from the webview).
 * - The host sends nothing before the webview says `ready` (as vscode-dvc waits for INITIALIZED): a
 *   message posted to a webview that has not loaded its script yet is lost.
 * - A webview is not trusted (it shows model-supplied text): the host serves only the methods it
 *   registered (looked up as own entries, never through the prototype: `toString`, `constructor`,
 *   `__proto__` are unknown methods), and checks each request's params against the method's schema
 *   (`checks`) before the handler runs. Refusals are error replies with a code, never a throw.
 */

/** The notification a webview sends once its script runs and its listener is installed. */
export const READY = 'ipc/ready';

export interface RequestMessage {
  kind: 'request';
  id: number;
  method: string;
  params: unknown;
}

/**
 * Why a request was answered with an error: `method-not-found` (no such method is served),
 * `invalid-params` (the params do not match the method's schema), `cancelled` (the person said no),
 * `failed` (the handler threw). A plain throw from a handler carries no code.
 */
export type RpcErrorCode = 'method-not-found' | 'invalid-params' | 'cancelled' | 'failed';

export interface RpcErrorBody {
  message: string;
  code?: RpcErrorCode;
}

export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: RpcErrorBody };

export interface NotificationMessage {
  kind: 'notification';
  method: string;
  params: unknown;
}

export type IpcMessage = RequestMessage | ResponseMessage | NotificationMessage;

/** Methods one side serves: name -> (params) => result. */
export type MethodMap = { [method: string]: (params: never) => unknown };
/** Notifications one side receives: name -> params. */
export type NotificationMap = { [method: string]: unknown };

export type ParamsOf<M extends MethodMap, K extends keyof M> = Parameters<M[K]>[0];
export type ResultOf<M extends MethodMap, K extends keyof M> = Awaited<ReturnType<M[K]>>;

/** What a view's contract declares: what the host serves, and what each side is told. */
export interface ViewContract {
  /** Requests from the webview that the host answers. */
  host: MethodMap;
  /** Notifications from the host to the webview. */
  toWebview: NotificationMap;
  /** Notifications from the webview to the host (besides `ready`). */
  toHost: NotificationMap;
}

/** Checks the shape of anything that arrives over postMessage: a webview is not trusted input. */
export function isIpcMessage(value: unknown): value is IpcMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  switch (m.kind) {
    case 'request':
      return Number.isSafeInteger(m.id) && typeof m.method === 'string';
    case 'response': {
      if (!Number.isSafeInteger(m.id) || typeof m.ok !== 'boolean') return false;
      if (m.ok) return true;
      const error = m.error as { message?: unknown; code?: unknown } | undefined;
      return typeof error?.message === 'string' && (error.code === undefined || (typeof error.code === 'string' && ERROR_CODES.includes(error.code)));
    }
    case 'notification':
      return typeof m.method === 'string';
    default:
      return false;
  }
}

/** An error that crossed the channel: the other side's message, thrown where the request was made. */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly method: string,
    readonly code?: RpcErrorCode,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** Thrown by a handler to answer with a code (e.g. `cancelled` when the person declined a confirmation). */
export class RpcError extends Error {
  constructor(
    readonly code: RpcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Checks one method's params: undefined when they are valid, otherwise what is wrong with them. */
export type ParamsCheck = (params: unknown) => string | undefined;
/** One check for every method a side serves (the host: its contract's `host` methods). */
export type ParamsChecks<M extends MethodMap> = { readonly [K in keyof M & string]-?: ParamsCheck };

const ERROR_CODES: readonly string[] = ['method-not-found', 'invalid-params', 'cancelled', 'failed'] satisfies RpcErrorCode[];
const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
/** A method name as it may appear in a message or a log line: quoted, control characters escaped, bounded. */
export const quoteMethod = (method: string): string => JSON.stringify(method.length > 80 ? `${method.slice(0, 80)}…` : method);

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
}

export interface RpcOptions {
  /** A request without a reply after this long is rejected (default 60 s; 0 = never). */
  timeoutMs?: number;
  /**
   * The params check of each method this end serves (the host passes its contract's schemas). When
   * given, a request is answered only if its method has a check and its params pass it; a served
   * method without a check is refused too (fail closed). Without it, params are not checked.
   */
  checks?: { readonly [method: string]: ParamsCheck };
  /** Told about each refused request (unknown method, invalid params): the host logs them. */
  onRefused?: (method: string, code: RpcErrorCode, problem: string) => void;
}

/**
 * One end of the channel. `Serves` are the methods this end answers; `Calls` those the other end answers;
 * `Receives` the notifications this end handles; `Sends` those it posts.
 */
export class RpcEndpoint<Serves extends MethodMap, Calls extends MethodMap, Receives extends NotificationMap, Sends extends NotificationMap> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  // A Map, not an object: a method name from the other side is never looked up through a prototype.
  private readonly handlers = new Map<string, (params: unknown) => unknown>();
  private readonly listeners = new Map<string, ((params: unknown) => void)[]>();
  private disposed = false;

  constructor(
    private readonly post: (message: IpcMessage) => void,
    private readonly options: RpcOptions = {},
  ) {}

  /** Serves a method; the handler's value (or promise) becomes the reply, a throw becomes an error reply. */
  handle<K extends keyof Serves & string>(method: K, handler: (params: ParamsOf<Serves, K>) => ResultOf<Serves, K> | Promise<ResultOf<Serves, K>>): this {
    this.handlers.set(method, handler as (params: unknown) => unknown);
    return this;
  }

  /** Listens to a notification (several listeners may share one). */
  on<K extends keyof Receives & string>(method: K, listener: (params: Receives[K]) => void): () => void {
    const list = this.listeners.get(method) ?? [];
    list.push(listener as (params: unknown) => void);
    this.listeners.set(method, list);
    return () => {
      const i = list.indexOf(listener as (params: unknown) => void);
      if (i >= 0) list.splice(i, 1);
    };
  }

  request<K extends keyof Calls & string>(method: K, params: ParamsOf<Calls, K>): Promise<ResultOf<Calls, K>> {
    if (this.disposed) return Promise.reject(new RemoteError('the view was closed', method));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const pending: Pending = { method, resolve: resolve as (v: unknown) => void, reject };
      const timeoutMs = this.options.timeoutMs ?? 60_000;
      if (timeoutMs > 0) {
        pending.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RemoteError(`no answer to ${method} after ${Math.round(timeoutMs / 1000)} s`, method));
        }, timeoutMs);
      }
      this.pending.set(id, pending);
      this.post({ kind: 'request', id, method, params });
    });
  }

  notify<K extends keyof Sends & string>(method: K, params: Sends[K]): void {
    if (!this.disposed) this.post({ kind: 'notification', method, params });
  }

  /** Feeds one incoming message (anything: it is checked first). Returns false when it was not ours. */
  receive(message: unknown): boolean {
    if (this.disposed || !isIpcMessage(message)) return false;
    switch (message.kind) {
      case 'response': {
        const p = this.pending.get(message.id);
        if (!p) return false;
        this.pending.delete(message.id);
        clearTimeout(p.timer);
        if (message.ok) p.resolve(message.result);
        else p.reject(new RemoteError(message.error.message, p.method, message.error.code));
        return true;
      }
      case 'request':
        void this.answer(message);
        return true;
      case 'notification':
        for (const listener of [...(this.listeners.get(message.method) ?? [])]) listener(message.params);
        return true;
    }
  }

  /** Rejects every pending request (the panel was closed) and ignores anything that still arrives. */
  dispose(): void {
    this.disposed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new RemoteError('the view was closed', p.method));
    }
    this.pending.clear();
  }

  /**
   * Answers one request as a message from the other side would be answered (the same lookup, checks and
   * handler), without posting the reply. Never throws.
   */
  async serve(request: RequestMessage): Promise<ResponseMessage> {
    const { id, method } = request;
    const refuse = (code: RpcErrorCode, problem: string): ResponseMessage => {
      try {
        this.options.onRefused?.(method, code, problem);
      } catch {
        // a failing logger must not turn a refusal into a throw
      }
      return { kind: 'response', id, ok: false, error: { message: problem, code } };
    };
    const handler = typeof method === 'string' ? this.handlers.get(method) : undefined;
    if (!handler) return refuse('method-not-found', `unknown method ${quoteMethod(String(method))}`);
    const checks = this.options.checks;
    if (checks) {
      const check = hasOwn(checks, method) ? checks[method] : undefined;
      if (typeof check !== 'function') return refuse('method-not-found', `method ${quoteMethod(method)} has no params schema: refused`);
      let problem: string | undefined;
      try {
        problem = check(request.params);
      } catch (err) {
        problem = `the params could not be checked: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (problem !== undefined) return refuse('invalid-params', `invalid params for ${quoteMethod(method)}: ${problem}`);
    }
    try {
      return { kind: 'response', id, ok: true, result: await handler(request.params) };
    } catch (err) {
      const error: RpcErrorBody = { message: err instanceof Error ? err.message : String(err) };
      if (err instanceof RpcError) error.code = err.code;
      return { kind: 'response', id, ok: false, error };
    }
  }

  private async answer(message: RequestMessage): Promise<void> {
    const reply = await this.serve(message);
    if (!this.disposed) this.post(reply);
  }
}

/** The host's end: serves the contract's `host` methods and sends `toWebview` notifications. */
export type HostEndpoint<C extends ViewContract> = RpcEndpoint<C['host'], MethodMap, C['toHost'] & { [READY]: undefined }, C['toWebview']>;
/** The webview's end: calls the contract's `host` methods, receives `toWebview` notifications. */
export type WebviewEndpoint<C extends ViewContract> = RpcEndpoint<MethodMap, C['host'], C['toWebview'], C['toHost'] & { [READY]: undefined }>;

/**
 * The host's side of the ready handshake: state is kept (the latest value per notification) and posted
 * only once the webview has said `ready`; when the webview reloads (hidden with retainContextWhenHidden
 * false, then shown again) it says `ready` again and gets the latest state again.
 */
export class ReadyGate<Sends extends NotificationMap> {
  private ready = false;
  private readonly latest = new Map<keyof Sends & string, unknown>();

  constructor(private readonly send: <K extends keyof Sends & string>(method: K, params: Sends[K]) => void) {}

  get isReady(): boolean {
    return this.ready;
  }

  /** Posts now when ready; otherwise keeps it for the next `ready`. Later values replace earlier ones. */
  publish<K extends keyof Sends & string>(method: K, params: Sends[K]): void {
    this.latest.delete(method); // re-insert so replay keeps the order of the latest changes
    this.latest.set(method, params);
    if (this.ready) this.send(method, params);
  }

  /** The webview said `ready`: replay everything it must know. */
  markReady(): void {
    this.ready = true;
    for (const [method, params] of this.latest) this.send(method, params as Sends[typeof method]);
  }

  /** The webview's document went away (hidden or reloading): hold messages until the next `ready`. */
  markGone(): void {
    this.ready = false;
  }
}
