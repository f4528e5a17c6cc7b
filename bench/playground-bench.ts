/**
 * The Playground in the real VS Code (issue 16): Send to the first rendered token against the engine's own time
 * to first token, over 30 turns (after 3 of warm-up), in code-server 1.139.1 + Chromium through the e2e harness,
 * with the extension from this repository. The model is a registered version of the workspace (the generated
 * tiny llama with a ChatML template, `registry add` with the real CLI), admitted by the policy and started by
 * the extension as its supervised `sovereign serve` child (1 thread, 16 tokens per answer): the product's path,
 * where each Send crosses VS Code's webview postMessage to the extension host and each delta comes back the
 * same way.
 *
 * Per turn:
 * - in the webview (its own clock): the Send click's event time stamp -> the first DOM mutation after which the
 *   new answer has text (a MutationObserver installed by the bench, independent of the view's own figures);
 * - in the extension host (bench/vscode-session.ts's probe around the chat service's `run`): when the turn
 *   arrived, when the first text came back from the server, and the host's TTFT (HTTP request -> first text);
 * - the engine's own TTFT: `sovereign_time_to_first_token_seconds_sum` of the serve child's /metrics, before
 *   and after the turn (one turn at a time).
 * UI added = Send -> first rendered - host TTFT, split into view -> host (postMessage to the panel's handler),
 * resolving the target (registry, engine), the chat service before its HTTP request, host -> view (the first delta notification,
 * from the host's first text to the `message` event in the webview's frame) and the view's rendering (that
 * event -> the text in the DOM). Cross-process parts compare `performance.timeOrigin + now()` of the webview
 * and the extension host (one machine, one clock).
 *
 * Goal: the UI adds <= 10 ms at p95. Figures go to bench-results/playground.json.
 * `npx tsx bench/playground-bench.ts` runs it alone.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Frame, Page } from 'playwright-core';
import { writeTinyLlama } from '../test/fixtures/gguf/tiny-llama';
import { repoRoot, runIfMain, writeBenchResult } from './util';
import { machineLoad, openBenchWindow, percentile, summary } from './vscode-session';

const TURNS = Number(process.env.SOVEREIGN_BENCH_TURNS ?? 30);
const WARMUP = 3;
const VERSION = 'chat-llama@1.0.0';

interface ChatRecord {
  enter: number;
  /** The chat service resolving the turn's target, just before `run`. */
  resolve?: { enter: number; exit: number };
  firstTextAt?: number;
  firstPostedAt?: number;
  exit?: number;
  ttftMs?: number;
  totalMs?: number;
  finish?: string;
  completionTokens?: number;
}

/** In the webview's content frame (plain JS): the Send click's time stamp and the first render of the answer's text. */
const VIEW_PROBE = `(() => {
  if (globalThis.__chatBench) return;
  const st = { sent: undefined, delta: undefined, painted: undefined };
  globalThis.__chatBench = st;
  document.addEventListener('click', (e) => {
    if (e.target && e.target.closest && e.target.closest('#send')) { st.sent = performance.timeOrigin + e.timeStamp; st.delta = undefined; st.painted = undefined; }
  }, true);
  // The first delta notification reaching this frame (VS Code's postMessage), before the view's handler runs.
  window.addEventListener('message', (e) => {
    if (st.sent === undefined || st.delta !== undefined) return;
    try { if (JSON.stringify(e.data).includes('"delta"')) st.delta = performance.timeOrigin + e.timeStamp; } catch {}
  }, true);
  new MutationObserver(() => {
    if (st.sent === undefined || st.painted !== undefined) return;
    const bodies = document.querySelectorAll('.turn.assistant .turn-body');
    const last = bodies[bodies.length - 1];
    if (last && last.textContent.length > 0) st.painted = performance.timeOrigin + performance.now();
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
})()`;

async function playgroundFrame(page: Page, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      if (await f.evaluate('!!document.getElementById("send")').catch(() => false)) return f;
    }
    if (Date.now() > deadline) throw new Error('the Playground webview did not show its composer');
    await page.waitForTimeout(500);
  }
}

async function ttftSum(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('sovereign_time_to_first_token_seconds_sum'));
  return Number(line?.split(' ').at(-1) ?? 0) * 1000;
}

export async function run(): Promise<Record<string, unknown>> {
  const win = await openBenchWindow({
    settings: () => ({ 'sovereign.engine.threads': 1, 'sovereign.completion.enabled': false }),
    prepare: async (dir) => {
      const model = join(dir, 'models', 'chat-llama.gguf');
      await mkdir(join(dir, 'models'), { recursive: true });
      await writeTinyLlama(model, { chatTemplate: true, name: 'chat-llama' });
      const [name, version] = VERSION.split('@');
      await promisify(execFile)(process.execPath, [join(repoRoot(), 'dist', 'cli.js'), 'registry', 'add', model, '--name', name, '--version', version, '--license', 'Apache-2.0', '--source', 'https://github.com/sovereign-workbench/sovereign-workbench/tree/main/test/fixtures', '--description', 'Tiny llama with a ChatML template (Playground benchmark)'], { cwd: dir });
      return {};
    },
  });
  const { wb, probe } = win;
  try {
    await wb.runCommand('Sovereign: Open Playground');
    const view = wb.webview();
    await view.locator('#send').waitFor({ timeout: 90_000 });
    await view.locator('select').first().selectOption(`version:${VERSION}`);
    await view.locator('#settings summary').click();
    for (const [id, value] of [['temperature', '0'], ['max-tokens', '16']]) {
      await view.locator(`#${id}`).fill(value);
      await view.locator(`#${id}`).dispatchEvent('change');
    }
    const frame = await playgroundFrame(wb.page, 30_000);
    await frame.evaluate(VIEW_PROBE);

    let engineUrl: string | undefined;
    const engine: number[] = [];
    const hostTtft: number[] = [];
    const firstRender: number[] = [];
    const added: number[] = [];
    const toHost: number[] = [];
    const resolve: number[] = [];
    const hostBeforeHttp: number[] = [];
    const toView: number[] = [];
    const render: number[] = [];
    for (let i = 0; i < WARMUP + TURNS; i++) {
      await view.locator('#clear').click();
      const before = engineUrl ? await ttftSum(engineUrl) : 0;
      const chatBefore = (await probe<{ records: ChatRecord[] }>('/chat')).records.length;
      await view.locator('#prompt').fill(`Hello number ${i}`);
      await view.locator('#send').click();
      await view.locator('.turn.assistant .turn-meta').last().locator('.stats', { hasText: /tokens|total/ }).waitFor({ timeout: i === 0 ? 90_000 : 30_000 });
      const records = (await probe<{ records: ChatRecord[] }>('/chat')).records;
      const rec = records[chatBefore];
      const page = (await frame.evaluate('({ ...globalThis.__chatBench })')) as { sent?: number; delta?: number; painted?: number };
      engineUrl ??= (await probe<{ engines: Array<{ model: string; url?: string }> }>('/completion')).engines.find((e) => e.model.includes('chat-llama') && e.url)?.url;
      const after = engineUrl ? await ttftSum(engineUrl) : 0;
      if (i < WARMUP) continue;
      if (!rec || rec.ttftMs === undefined || rec.firstTextAt === undefined || page.sent === undefined || page.painted === undefined) {
        throw new Error(`turn ${i}: incomplete figures (host ${JSON.stringify(rec)}, view ${JSON.stringify(page)})`);
      }
      const paint = page.painted - page.sent;
      engine.push(after - before);
      hostTtft.push(rec.ttftMs);
      firstRender.push(paint);
      added.push(paint - rec.ttftMs);
      const resolved = rec.resolve && rec.resolve.enter >= page.sent ? rec.resolve : undefined;
      toHost.push((resolved?.enter ?? rec.enter) - page.sent);
      if (resolved) resolve.push(resolved.exit - resolved.enter);
      hostBeforeHttp.push(rec.firstTextAt - rec.enter - rec.ttftMs);
      toView.push((page.delta ?? page.painted) - rec.firstTextAt);
      if (page.delta !== undefined) render.push(page.painted - page.delta);
    }
    await wb.screenshot('bench-playground');
    const figures = {
      turns: engine.length,
      model: `${VERSION}: generated tiny llama (ChatML template), registered and admitted, served by the extension's supervised sovereign serve child, 1 thread, 16 tokens per answer`,
      engineTtftMs: summary(engine),
      hostTtftMs: summary(hostTtft),
      sendToFirstRenderMs: summary(firstRender),
      uiAddedMs: summary(added),
      uiAddedParts: {
        viewToHostMs: summary(toHost),
        resolveTargetMs: summary(resolve),
        hostBeforeRequestMs: summary(hostBeforeHttp),
        hostToViewMs: summary(toView),
        viewRenderMs: summary(render),
      },
      goalUiAddedP95Ms: 10,
      withinGoal: added.length > 0 && percentile(added, 95) <= 10,
      ...machineLoad(),
    };
    const outbound = await win.close();
    const result = { ...figures, outboundAttempts: outbound.length };
    await writeBenchResult('playground', result);
    return result;
  } catch (err) {
    await wb.screenshot('bench-playground--FAILED').catch(() => undefined);
    await win.close().catch(() => undefined);
    throw err;
  }
}

runIfMain(module, run);
