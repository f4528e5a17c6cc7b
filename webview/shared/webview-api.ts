/**
 * The webview's side of the channel: the VS Code API (acquired once), the RPC endpoint over
 * postMessage, the `ready` handshake and the view state that survives hide/show (getState/setState).
 */
import { READY, RpcEndpoint, type IpcMessage, type ViewContract, type WebviewEndpoint } from './ipc';

const vscode = acquireVsCodeApi();

export function connect<C extends ViewContract>(): WebviewEndpoint<C> {
  const rpc: WebviewEndpoint<C> = new RpcEndpoint((message: IpcMessage) => vscode.postMessage(message), { timeoutMs: 120_000 });
  window.addEventListener('message', (event: MessageEvent) => rpc.receive(event.data));
  return rpc;
}

/** Says `ready` once the view has installed its listeners: the host starts sending then. */
export function sayReady<C extends ViewContract>(rpc: WebviewEndpoint<C>): void {
  (rpc as unknown as { notify: (method: string, params: undefined) => void }).notify(READY, undefined);
}

/**
 * The view state saved with setState (after hide/show, or a window reload that restored the panel),
 * checked field by field by the view's `restore` (webview/shared/view-state.ts): an older or malformed
 * saved state falls back to defaults instead of breaking the view. The checked state is saved back.
 */
export function loadState<S extends object>(restore: (saved: unknown) => S): S {
  let saved: unknown;
  try {
    saved = vscode.getState();
  } catch {
    saved = undefined;
  }
  const state = restore(saved);
  vscode.setState(state);
  return state;
}

export function saveState<S extends object>(state: S): void {
  vscode.setState(state);
}

/** Small DOM helper: an element with classes, attributes and children (text is always escaped). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: { class?: string; attrs?: Record<string, string | undefined>; text?: string; on?: Record<string, (e: Event) => void> },
  ...children: (Node | string | undefined | false)[]
): HTMLElementTagNameMap[K];
export function h(tag: string, props?: { class?: string; attrs?: Record<string, string | undefined>; text?: string; on?: Record<string, (e: Event) => void> }, ...children: (Node | string | undefined | false)[]): HTMLElement;
export function h(
  tag: string,
  props: { class?: string; attrs?: Record<string, string | undefined>; text?: string; on?: Record<string, (e: Event) => void> } = {},
  ...children: (Node | string | undefined | false)[]
): HTMLElement {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  for (const [k, v] of Object.entries(props.attrs ?? {})) if (v !== undefined) el.setAttribute(k, v);
  if (props.text !== undefined) el.textContent = props.text;
  for (const [k, fn] of Object.entries(props.on ?? {})) el.addEventListener(k, fn);
  for (const c of children) if (c !== undefined && c !== false) el.append(c);
  return el;
}

/** Shows an error from the host in the view's message line (and keeps the view usable). */
export function reportError(err: unknown): void {
  const line = document.getElementById('message');
  const text = err instanceof Error ? err.message : String(err);
  if (line) {
    line.textContent = text;
    line.className = 'message error';
  }
}

export function emptyState(app: HTMLElement, message: string, extra?: Node): void {
  app.replaceChildren(h('div', { class: 'empty-state', attrs: { role: 'status' } }, h('p', { text: message }), extra));
}
