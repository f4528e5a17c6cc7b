import * as vscode from 'vscode';
import { join } from 'node:path';
import type { ExtensionServices } from '../context';
import { withCoreProgress } from '../core-client';
import type { ModelNode } from '../registry/models-view';
import type { RegistryState } from '../registry/registry-state';


/** A manifest path for a registry version, a file from a picker, or a URL: what `sovereign bench` takes. */
async function pickTarget(services: ExtensionServices, state: RegistryState, arg: unknown, filters: Record<string, string[]>, title: string, allowUrl: boolean): Promise<{ target: string; ref?: string } | undefined> {
  const node = arg as ModelNode | undefined;
  const root = await services.workspaceRoot();
  if (node?.kind === 'version' && root) return { target: join(root, node.version.file), ref: `${node.version.name}@${node.version.version}` };
  if (arg instanceof vscode.Uri) return { target: arg.fsPath };
  const snap = state.snapshot;
  const items: (vscode.QuickPickItem & { target?: string; ref?: string; action?: string })[] = [
    ...(snap && root ? [...snap.versions].reverse().map((v) => ({ label: `${v.name}@${v.version}`, description: v.format, target: join(root, v.file), ref: `${v.name}@${v.version}` })) : []),
    { label: '$(file) Choose a model file...', action: 'file' },
    ...(allowUrl ? [{ label: '$(globe) An OpenAI-compatible URL...', action: 'url' }] : []),
  ];
  const pick = await vscode.window.showQuickPick(items, { title });
  if (!pick) return undefined;
  if (pick.action === 'file') {
    const file = (await vscode.window.showOpenDialog({ title, filters, canSelectMany: false }))?.[0];
    return file ? { target: file.fsPath } : undefined;
  }
  if (pick.action === 'url') {
    const url = await vscode.window.showInputBox({ title: 'Base URL (loopback or private network)', value: 'http://127.0.0.1:8080' });
    return url ? { target: url } : undefined;
  }
  return pick.target ? { target: pick.target, ref: pick.ref } : undefined;
}

/** Run Benchmark and Evaluate Model: the core's bench and eval services (as `sovereign bench` / `sovereign eval` call them), the model in the supervised engine process, results saved in the workspace. */
export function registerBenchEvalCommands(services: ExtensionServices, state: RegistryState): void {
  services.context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.runBenchmark', async (arg?: unknown) => {
      const picked = await pickTarget(services, state, arg, { 'GGUF models': ['gguf'] }, 'Run Benchmark', true);
      if (!picked) return;
      const root = await services.workspaceRoot();
      const out = await withCoreProgress(services, `Benchmarking ${picked.ref ?? picked.target}`, (call) =>
        services.core.bench({ target: picked.target, repetitions: 3, save: Boolean(picked.ref && root) }, call),
      );
      if (!out) return;
      const r = out.report.results;
      const fmt = (n: number | undefined, unit: string): string => (n === undefined ? '-' : `${n.toFixed(n < 10 ? 1 : 0)} ${unit}`);
      const msg = `Sovereign: ${picked.ref ?? picked.target}: pp ${fmt(r.pp?.tokensPerSecond.mean, 'tok/s')}, tg ${fmt(r.tg?.tokensPerSecond.mean, 'tok/s')}, TTFT ${fmt(r.ttftMs?.mean, 'ms')}, cold load ${fmt(r.coldLoadMs, 'ms')}${picked.ref ? ' (saved under .sovereign/benchmarks)' : ''}.`;
      const show = 'Show Benchmarks';
      const choice = await vscode.window.showInformationMessage(msg, show);
      if (choice === show) await vscode.commands.executeCommand('sovereign.showBenchmarks');
    }),

    vscode.commands.registerCommand('sovereign.evaluateModel', async (arg?: unknown) => {
      const picked = await pickTarget(services, state, arg, { 'ONNX models': ['onnx'] }, 'Evaluate Model (ONNX)', false);
      if (!picked) return;
      const data = (await vscode.window.showOpenDialog({ title: 'Validation data (CSV or JSON lines)', filters: { 'Validation data': ['csv', 'jsonl', 'ndjson'] }, canSelectMany: false }))?.[0];
      if (!data) return;
      const label = await vscode.window.showInputBox({ title: 'Label column', value: 'label' });
      if (!label) return;
      const out = await withCoreProgress(services, `Evaluating ${picked.ref ?? picked.target}`, (call) => services.core.evaluate({ model: picked.target, data: data.fsPath, label }, call));
      if (!out) return;
      const r = out.report;
      void vscode.window.showInformationMessage(`Sovereign: accuracy ${(r.accuracy * 100).toFixed(2)}%, error rate ${(r.errorRate * 100).toFixed(2)}% on ${r.rows} rows (macro F1 ${r.macroF1.toFixed(3)}, batch-1 p50 ${r.latency.batch1Ms.p50.toFixed(3)} ms).`);
    }),
  );
}
