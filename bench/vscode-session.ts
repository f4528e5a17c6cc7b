/**
 * The benchmarks in the real VS Code (bench/ghost-text-bench.ts, bench/playground-bench.ts): the e2e harness's
 * session (code-server 1.139.1 + Chromium + the demo workspace, test/e2e/support/session.ts), the extension
 * loaded from this repository, and a probe loaded into the same extension host as the window's
 * `extensionTestsPath`. The probe takes the extension's API (`api()` of what `activate()` returns, as the
 * extension-host tests do), wraps the inline completion provider and the chat service's `run` to timestamp
 * each call, and answers on 127.0.0.1 with the records, the completion service's `stats` and the running
 * engines. Nothing in the product is changed for it; timestamps on both sides are
 * `performance.timeOrigin + performance.now()` (milliseconds since the epoch, sub-millisecond, the same
 * system clock for the page and the extension host on one machine).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureBuilt } from '../scripts/e2e/ensure-built';
import { session, startSession, stopSession, type E2eSession } from '../test/e2e/support/session';
import { Workbench } from '../test/e2e/support/workbench';
import { round } from './util';

export interface BenchWindow {
  session: E2eSession;
  wb: Workbench;
  /** GET a path of the probe in the extension host (JSON). */
  probe<T = unknown>(path: string): Promise<T>;
  /** Closes the window and the session; the outbound attempts the harness saw (expected: none). */
  close(): Promise<string[]>;
}

/** The probe, loaded by VS Code as `extensionTestsPath` (plain CommonJS: the extension host has no tsx). */
function probeSource(extensionId: string, portFile: string): string {
  return `'use strict';
const vscode = require('vscode');
const http = require('node:http');
const fs = require('node:fs');
const now = () => performance.timeOrigin + performance.now();
exports.run = async function run() {
  const ext = vscode.extensions.all.find((e) => e.id.toLowerCase() === ${JSON.stringify(extensionId.toLowerCase())});
  if (!ext) throw new Error('the extension under test is not loaded');
  // The activation shell exports { loaded, api() }: api() loads the workbench and resolves to its API.
  const exported = await ext.activate();
  const api = exported && typeof exported.api === 'function' ? await exported.api() : exported;
  const completion = [];
  const chat = [];
  // Completion: the provider VS Code calls, and the outcome it reports to the controller (the status bar's).
  const controller = api.completion;
  // Members the probe wraps (TypeScript-private, present at run time): say so plainly if they were renamed.
  if (!controller || !controller.provider || typeof controller.onOutcome !== 'function' || !api.chat || typeof api.chat.run !== 'function' || typeof api.chat.resolve !== 'function') {
    throw new Error('bench probe: the extension API no longer has completion.provider / completion.onOutcome / chat.run / chat.resolve; update bench/vscode-session.ts');
  }
  let last;
  const onOutcome = controller.onOutcome.bind(controller);
  controller.onOutcome = (o) => { last = o; onOutcome(o); };
  const provider = controller.provider;
  const provide = provider.provideInlineCompletionItems.bind(provider);
  provider.provideInlineCompletionItems = async (doc, pos, ctx, token) => {
    const enter = now();
    last = undefined;
    let items;
    try {
      items = await provide(doc, pos, ctx, token);
      return items;
    } finally {
      const o = last;
      completion.push({ enter, exit: now(), trigger: ctx.triggerKind, shown: Array.isArray(items) && items.length > 0, cancelled: token.isCancellationRequested,
        outcome: o && { source: o.source, latencyMs: o.latencyMs, modelMs: o.modelMs, overheadMs: o.overheadMs, timings: o.timings, chars: o.text.length } });
    }
  };
  // Chat: the service every surface runs a turn through (the Playground's send handler calls it).
  // The panel resolves the turn's target (registry, engine) right before it runs the turn.
  let lastResolve;
  const chatResolve = api.chat.resolve.bind(api.chat);
  api.chat.resolve = async (...args) => {
    const r = { enter: now() };
    try { return await chatResolve(...args); } finally { r.exit = now(); lastResolve = r; }
  };
  const chatRun = api.chat.run.bind(api.chat);
  api.chat.run = async (target, request, options) => {
    const rec = { enter: now(), resolve: lastResolve };
    chat.push(rec);
    const onText = options.onText;
    const r = await chatRun(target, request, { ...options, onText: onText && ((t) => {
      rec.firstTextAt ??= now();
      onText(t);
      rec.firstPostedAt ??= now();
    }) });
    Object.assign(rec, { exit: now(), ttftMs: r.ttftMs, totalMs: r.totalMs, finish: r.finish, completionTokens: r.completionTokens });
    return r;
  };
  let finish;
  const done = new Promise((resolve) => (finish = resolve));
  const server = http.createServer(async (req, res) => {
    try {
      let body;
      if (req.url === '/completion') {
        const service = await controller.ready();
        body = { records: completion, stats: service && service.stats, engines: api.engines.list().map((e) => ({ model: e.model, url: e.process.stats.url })) };
      } else if (req.url === '/chat') body = { records: chat };
      else if (req.url === '/reset') { completion.length = 0; chat.length = 0; body = { ok: true }; }
      else if (req.url === '/done') { body = { ok: true }; setTimeout(finish, 50); }
      else { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } catch (err) {
      res.writeHead(500).end(String(err && err.stack || err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  fs.writeFileSync(${JSON.stringify(portFile)}, String(server.address().port));
  await done;
  server.close();
};
`;
}

/**
 * Starts the e2e session with the extension from this repository, writes `settings` into the demo workspace's
 * .vscode/settings.json and `files` into it, and opens a workbench window with the probe in its extension host.
 */
export async function openBenchWindow(options: {
  /** Workspace settings, given the workspace folder. */
  settings: (workspace: string) => Record<string, unknown>;
  /** Prepares the workspace before the window opens (models, registry entries); returns files to write (relative path -> content). */
  prepare?: (workspace: string) => Promise<Record<string, string | Buffer>>;
}): Promise<BenchWindow> {
  const log = (line: string): void => void process.stderr.write(`  [bench] ${line}\n`);
  process.env.SOVEREIGN_E2E_EXTENSION = 'development'; // the probe rides on extensionTestsPath, which needs it
  ensureBuilt();
  // One artifact store for the CLI steps (registry add) and the window (code-server runs with a HOME of its own,
  // so the default store under HOME would differ): a registered version's serve child finds its artifact.
  const ownStore = process.env.SOVEREIGN_STORE ? undefined : await mkdtemp(join(tmpdir(), 'sovereign-bench-store-'));
  if (ownStore) process.env.SOVEREIGN_STORE = ownStore;
  const dropStore = async (): Promise<void> => {
    if (!ownStore) return;
    delete process.env.SOVEREIGN_STORE;
    await rm(ownStore, { recursive: true, force: true });
  };
  const s = await startSession({ keepScreenshots: true });
  try {
    const settingsFile = join(s.workspace.dir, '.vscode', 'settings.json');
    const settings = JSON.parse(await readFile(settingsFile, 'utf8').catch(() => '{}')) as Record<string, unknown>;
    await writeFile(settingsFile, `${JSON.stringify({ ...settings, ...options.settings(s.workspace.dir) }, null, 2)}\n`);
    for (const [rel, content] of Object.entries((await options.prepare?.(s.workspace.dir)) ?? {})) {
      await mkdir(dirname(join(s.workspace.dir, rel)), { recursive: true });
      await writeFile(join(s.workspace.dir, rel), content);
    }
    const manifest = JSON.parse(await readFile(join(s.repoRoot, 'package.json'), 'utf8')) as { publisher: string; name: string };
    const portFile = join(s.stateDir, 'bench-probe.port');
    const probePath = join(s.stateDir, 'bench-probe.js');
    await writeFile(probePath, probeSource(`${manifest.publisher}.${manifest.name}`, portFile));
    const wb = await Workbench.open(s.workspace.dir, {
      extensionTestsPath: probePath,
      beforeLoad: async (page) => {
        // The smoke-test driver's callbacks: the extension host's console, and the end of the "suite".
        await page.exposeFunction('codeAutomationLog', (level: unknown, parts: unknown) => {
          if (level === 'error') log(`extension host: ${JSON.stringify(parts).slice(0, 2000)}`);
        });
        await page.exposeFunction('codeAutomationExit', (code: unknown) => log(`probe ended (${String(code)})`));
      },
    });
    const deadline = Date.now() + 120_000;
    while (!existsSync(portFile)) {
      if (Date.now() > deadline) throw new Error('the probe did not start in the extension host within 120 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    const port = Number(await readFile(portFile, 'utf8'));
    const probe = async <T>(path: string): Promise<T> => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      if (!res.ok) throw new Error(`probe ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    log(`window ready, probe on 127.0.0.1:${port}`);
    return {
      session: s,
      wb,
      probe,
      close: async () => {
        await probe('/done').catch(() => undefined);
        await wb.close();
        const report = await stopSession();
        await dropStore();
        return report ? [...report.browser, ...report.proxy, ...report.logLines.map((l) => l.trim().slice(0, 200))] : [];
      },
    };
  } catch (err) {
    if (sessionStarted()) await stopSession();
    await dropStore();
    throw err;
  }
}

function sessionStarted(): boolean {
  try {
    session();
    return true;
  } catch {
    return false;
  }
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function summary(values: number[]): { p50: number; p95: number; max: number; mean: number; n: number } | { n: 0 } {
  if (values.length === 0) return { n: 0 };
  return { p50: round(percentile(values, 50), 2), p95: round(percentile(values, 95), 2), max: round(Math.max(...values), 2), mean: round(values.reduce((a, b) => a + b, 0) / values.length, 2), n: values.length };
}

export function machineLoad(): { loadAverage: number[] } {
  return { loadAverage: loadavg().map((l) => round(l, 2)) };
}
