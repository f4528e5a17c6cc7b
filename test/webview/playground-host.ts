import type { Page } from 'playwright-core';
import { streamChat, type ChatTarget } from '../../src/core/chat';
import type { SendParams, TurnStats } from '../../webview/playground/contract';

/*
 * The host's side of the Playground for the Chromium tests and the benchmark: requests the page posts reach
 * Node at once (an exposed function, no polling) and are answered like the panel answers them; a `send` is
 * run against a real `sovereign serve` (streamChat, as the chat service does) and its text streamed back as
 * `delta` notifications, then `done` with the figures. Anything else is recorded and answered by `answer`.
 */

export interface HostCall {
  method: string;
  params: unknown;
  /** performance.now() in Node when the request arrived. */
  at: number;
}

export interface FakeHost {
  calls: HostCall[];
  /** Per turn: when its request arrived, and when its first text left for the page (Node's clock). */
  turns: Map<string, { arrivedAt: number; firstTextAt?: number; result?: Awaited<ReturnType<typeof streamChat>> }>;
  /** Sends a notification to the page. */
  notify(method: string, params: unknown): Promise<void>;
}

export async function post(page: Page, data: unknown): Promise<void> {
  await page.evaluate((d) => (globalThis as unknown as { dispatchEvent(e: unknown): boolean }).dispatchEvent(new MessageEvent('message', { data: d })), data as never);
}

export interface HostOptions {
  /** Where a target id sends its turns (a real serve), or a scripted answer (pieces streamed in order). */
  route(target: string): ChatTarget | { script: string[] };
  answer?: (method: string, params: unknown) => unknown;
}

export async function attachFakeHost(page: Page, options: HostOptions): Promise<FakeHost> {
  const host: FakeHost = {
    calls: [],
    turns: new Map(),
    notify: (method, params) => post(page, { kind: 'notification', method, params }),
  };
  const respond = (id: number, result: unknown): Promise<void> => post(page, { kind: 'response', id, ok: true, result });
  await page.exposeFunction('__hostReceive', (m: { kind: string; id: number; method: string; params: unknown }) => {
    if (m.kind !== 'request') return;
    const at = performance.now();
    host.calls.push({ method: m.method, params: m.params, at });
    if (m.method !== 'send') return void respond(m.id, options.answer?.(m.method, m.params));
    const p = m.params as SendParams;
    const turn: { arrivedAt: number; firstTextAt?: number; result?: Awaited<ReturnType<typeof streamChat>> } = { arrivedAt: at };
    host.turns.set(p.turnId, turn);
    void respond(m.id, { ok: true });
    void (async () => {
      const route = options.route(p.target);
      let stats: TurnStats;
      if ('script' in route) {
        for (const piece of route.script) {
          turn.firstTextAt ??= performance.now();
          await host.notify('delta', { turnId: p.turnId, text: piece });
        }
        stats = { finish: 'stop', totalMs: performance.now() - at, redactions: 0, completionTokens: route.script.length };
      } else {
        const messages = [...(p.settings.system ? [{ role: 'system' as const, content: p.settings.system }] : []), ...p.messages.map((x) => ({ role: x.role, content: x.text }))];
        // Deltas are sent in order: each waits for the previous one to reach the page.
        let chain = Promise.resolve();
        const r = await streamChat(route, { messages, maxTokens: p.settings.maxTokens, temperature: p.settings.temperature, topP: p.settings.topP }, {
          onText: (text) => {
            turn.firstTextAt ??= performance.now();
            chain = chain.then(() => host.notify('delta', { turnId: p.turnId, text }));
          },
        });
        await chain;
        turn.result = r;
        stats = { finish: r.finish, totalMs: r.totalMs, redactions: r.redactions, ttftMs: r.ttftMs, tokensPerSecond: r.tokensPerSecond, promptTokens: r.promptTokens, completionTokens: r.completionTokens, template: 'ChatML (matches tokenizer.chat_template)', ...(r.error ? { error: r.error } : {}) };
      }
      await host.notify('done', { turnId: p.turnId, stats });
    })();
  });
  await page.evaluate(() => {
    const g = globalThis as unknown as { __sent: unknown[] & { push: (m: unknown) => number }; __hostReceive: (m: unknown) => void };
    const push = Array.prototype.push;
    g.__sent.push = function (m: unknown): number {
      void g.__hostReceive(m);
      return push.call(this, m);
    };
  });
  return host;
}
