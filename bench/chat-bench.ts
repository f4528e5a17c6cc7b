/**
 * Playground: from Send to the first rendered token, against the engine's own time to first token in the same
 * turns. A real `sovereign serve` (llama.cpp, the generated GGUF with a ChatML template, 1 thread) answers; the
 * Playground runs in Chromium under the real CSP; the host side (Node) relays each turn as the panel does
 * (streamChat, then `delta` notifications). Per turn:
 *
 * - engine TTFT: `sovereign_time_to_first_token_seconds_sum` of serve's /metrics, before and after the turn
 *   (turns run one at a time, so the difference is this turn's);
 * - host TTFT: from the `send` request reaching the host to the first answer text reaching the host (HTTP,
 *   serve, the engine process);
 * - first paint: from Send in the view to the first answer text rendered there (the view's own measure);
 * - UI added = first paint - host TTFT: the request's way to the host, the text's way back, and the rendering;
 *   split into the view's own rendering (first text arrived -> rendered) and the view-host transport.
 *
 * Goal: the UI adds <= 10 ms at p95. Here the view-host hops go through the Chrome DevTools protocol (the
 * harness), heavier than VS Code's postMessage, so the figure is an upper bound. Figures also go to
 * bench-results/chat.json.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServe } from '../src/core/serve/start';
import { startWebviewHarness, type HarnessGlobals } from '../test/webview/chromium-harness';
import { attachFakeHost } from '../test/webview/playground-host';
import { writeTinyLlama } from '../test/fixtures/gguf/tiny-llama';
import type { PlaygroundViewState } from '../webview/playground/contract';
import { round, runIfMain, writeBenchResult } from './util';

const TURNS = 30;

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function summary(values: number[]): Record<string, number> {
  return { p50: round(percentile(values, 50), 2), p95: round(percentile(values, 95), 2), max: round(Math.max(...values), 2), n: values.length };
}

async function ttftSum(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('sovereign_time_to_first_token_seconds_sum'));
  return Number(line?.split(' ').at(-1) ?? 0) * 1000;
}

export async function run(): Promise<Record<string, unknown>> {
  const harness = await startWebviewHarness('Y2hhdC1iZW5jaC1ub25jZQ==');
  if (!harness) return { skipped: 'Chromium is missing (apt-get install -y chromium, or set CHROMIUM_PATH)' };
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-chat-bench-'));
  const server = await startServe({ model: (await writeTinyLlama(join(dir, 'chat.gguf'), { chatTemplate: true })).path, port: 0, parallel: 1, load: { threads: 1, contextSize: 1024 } });
  try {
    const targets = [{ id: 'version:tiny@1.0.0', kind: 'version' as const, label: 'tiny@1.0.0', admitted: true }];
    const { page } = await harness.open('playground', { kind: 'ready', targets });
    const host = await attachFakeHost(page, { route: () => ({ url: server.url, label: 'tiny@1.0.0', local: true }) });
    await page.locator('#settings summary').click();
    for (const [id, value] of [['temperature', '0'], ['max-tokens', '16']]) {
      await page.locator(`#${id}`).fill(value);
      await page.locator(`#${id}`).dispatchEvent('change');
    }
    const engine: number[] = [];
    const hostTtft: number[] = [];
    const paint: number[] = [];
    const added: number[] = [];
    const viewOwn: number[] = [];
    const transport: number[] = [];
    for (let i = 0; i < TURNS + 3; i++) {
      await page.locator('#clear').click();
      const before = await ttftSum(server.url);
      await page.locator('#prompt').fill(`Hello number ${i}`);
      await page.locator('#send').click();
      await page.locator('.turn.assistant .turn-meta .stats', { hasText: /tokens/ }).waitFor();
      const state = (await page.evaluate(() => (globalThis as unknown as HarnessGlobals).__saved)) as PlaygroundViewState;
      const stats = state.columns[0].at(-1)?.stats;
      const turn = [...host.turns.values()].at(-1)!;
      const after = await ttftSum(server.url);
      if (i < 3 || stats?.firstPaintMs === undefined || turn.firstTextAt === undefined) continue; // warm-up
      const h = turn.firstTextAt - turn.arrivedAt;
      engine.push(after - before);
      hostTtft.push(h);
      paint.push(stats.firstPaintMs);
      added.push(stats.firstPaintMs - h);
      if (stats.firstTextMs !== undefined) {
        viewOwn.push(stats.firstPaintMs - stats.firstTextMs);
        transport.push(stats.firstTextMs - h);
      }
    }
    await page.close();
    const figures = {
      turns: engine.length,
      model: 'generated tiny llama (ChatML template), 1 thread, 16 tokens per answer',
      engineTtftMs: summary(engine),
      hostTtftMs: summary(hostTtft),
      sendToFirstPaintMs: summary(paint),
      uiAddedMs: summary(added),
      uiAddedParts: {
        viewRenderMs: summary(viewOwn),
        viewHostTransportMs: summary(transport),
      },
      goalUiAddedP95Ms: 10,
      withinGoal: { uiAddedP95: percentile(added, 95) <= 10, viewRenderP95: viewOwn.length > 0 && percentile(viewOwn, 95) <= 10 },
      loadAverage1m: round(loadavg()[0], 2),
    };
    await writeBenchResult('chat', figures);
    return figures;
  } finally {
    await harness.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(module, run);
