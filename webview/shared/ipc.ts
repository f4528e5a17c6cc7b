/**
 * The message protocol every Sovereign webview speaks with its host (shared, type for type, by the
 * extension and the browser bundles; no DOM and no `vscode` here, so both sides and the Node tests use it).
 *
 * - Requests carry an id; the reply carries the same id and either a result or an error
 *   (promise RPC over postMessage, as vscode-pull-request-github does).
 * - Notifications carry no id and get no reply (state pushed by the host, `ready` from the webview).
 * - The host sends nothing before the webview says `ready` (as vscode-dvc waits for INITIALIZED): a
 *   message posted to a webview that has not loaded its script yet is lost.
 */

/** The notification a webview sends once its script runs and its listener is installed. */
export const READY = 'ipc/ready';

export interface RequestMessage {
  kind: 'request';
  id: number;
  method: string;
  params: unknown;
}

export type ResponseMessage =
  | { kind: 'response'; id: number; ok: true; result: unknown }
  | { kind: 'response'; id: number; ok: false; error: { message: string } };

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
    case 'response':
      return Number.isSafeInteger(m.id) && typeof m.ok === 'boolean' && (m.ok || typeof (m.error as { message?: unknown })?.message === 'string');
    case 'notification':
      return typeof m.method === 'string';
    default:
      return false;
  }
}

/** An error that crossed the channel: the other side's message, thrown where the request was made. */
export class RemoteError extends Error {
  constructor(message: string, readonly method: string) {
    super(message);
    this.name = 'RemoteError';
  }
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer?: ReturnType<typeof setTimeout>;
}

export interface RpcOptions {
  /** A request without a reply after this long is rejected (default 60 s; 0 = never). */
  timeoutMs?: number;
}

/**
 * One end of the channel. `Serves` are the methods this end answers; `Calls` those the other end answers;
 * `Receives` the notifications this end handles; `Sends` those it posts.
 */
export class RpcEndpoint<Serves extends MethodMap, Calls extends MethodMap, Receives extends NotificationMap, Sends extends NotificationMap> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers: Partial<{ [K in keyof Serves]: (params: ParamsOf<Serves, K>) => unknown }> = {};
  private readonly listeners = new Map<string, ((params: unknown) => void)[]>();
  private disposed = false;

  constructor(
    private readonly post: (message: IpcMessage) => void,
    private readonly options: RpcOptions = {},
  ) {}

  /** Serves a method; the handler's value (or promise) becomes the reply, a throw becomes an error reply. */
  handle<K extends keyof Serves & string>(method: K, handler: (params: ParamsOf<Serves, K>) => ResultOf<Serves, K> | Promise<ResultOf<Serves, K>>): this {
    this.handlers[method] = handler;
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
        else p.reject(new RemoteError(message.error.message, p.method));
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

  private async answer(message: RequestMessage): Promise<void> {
    const handler = this.handlers[message.method as keyof Serves] as ((params: unknown) => unknown) | undefined;
    let reply: ResponseMessage;
    if (!handler) reply = { kind: 'response', id: message.id, ok: false, error: { message: `unknown method "${message.method}"` } };
    else {
      try {
        reply = { kind: 'response', id: message.id, ok: true, result: await handler(message.params) };
      } catch (err) {
        reply = { kind: 'response', id: message.id, ok: false, error: { message: err instanceof Error ? err.message : String(err) } };
      }
    }
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
