import * as vscode from 'vscode';
import { join } from 'node:path';
import type { ExtensionServices } from '../context';
import { withCoreProgress } from '../core-client';
import type { ModelNode } from '../registry/models-view';
import type { RegistryState } from '../registry/registry-state';


/**
 * A manifest path for a registry version (in its folder's registry), a file from a picker, or a URL: what
 * `sovereign bench` takes. `root` is the registry the result is saved in (a registered version's).
 */
async function pickTarget(state: RegistryState, arg: unknown, filters: Record<string, string[]>, title: string, allowUrl: boolean): Promise<{ target: string; ref?: string; root?: string } | undefined> {
  const node = arg as ModelNode | undefined;
  if (node?.kind === 'version') return { target: join(node.root, node.version.file), ref: `${node.version.name}@${node.version.version}`, root: node.root };
  if (arg instanceof vscode.Uri) return { target: arg.fsPath };
  if (!state.all.length) await state.refresh();
  const several = state.all.length > 1;
  const items: (vscode.QuickPickItem & { target?: string; ref?: string; root?: string; action?: string })[] = [
    ...state.all.flatMap((r) =>
      [...r.snapshot.versions].reverse().map((v) => ({
        label: `${v.name}@${v.version}`,
        description: [several ? r.workspace.name : '', v.format ?? ''].filter(Boolean).join(' · '),
        target: join(r.workspace.root, v.file),
        ref: `${v.name}@${v.version}`,
        root: r.workspace.root,
      })),
    ),
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
  return pick.target ? { target: pick.target, ref: pick.ref, root: pick.root } : undefined;
}

/** Run Benchmark and Evaluate Model: the core's bench and eval services (as `sovereign bench` / `sovereign eval` call them), the model in the supervised engine process, results saved in the workspace. */
export function registerBenchEvalCommands(services: ExtensionServices, state: RegistryState): void {
  services.context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.runBenchmark', async (arg?: unknown) => {
      const picked = await pickTarget(state, arg, { 'GGUF models': ['gguf'] }, 'Run Benchmark', true);
      if (!picked) return;
      const root = picked.root ?? (await services.workspaceRoot());
      const out = await withCoreProgress(services, `Benchmarking ${picked.ref ?? picked.target}`, (call) =>
        services.core.bench({ target: picked.target, repetitions: 3, save: Boolean(picked.ref && root) }, { ...call, root }),
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
      const picked = await pickTarget(state, arg, { 'ONNX models': ['onnx'] }, 'Evaluate Model (ONNX)', false);
      if (!picked) return;
      const data = (await vscode.window.showOpenDialog({ title: 'Validation data (CSV or JSON lines)', filters: { 'Validation data': ['csv', 'jsonl', 'ndjson'] }, canSelectMany: false }))?.[0];
      if (!data) return;
      const label = await vscode.window.showInputBox({ title: 'Label column', value: 'label' });
      if (!label) return;
      const out = await withCoreProgress(services, `Evaluating ${picked.ref ?? picked.target}`, (call) => services.core.evaluate({ model: picked.target, data: data.fsPath, label }, { ...call, root: picked.root }));
      if (!out) return;
      const r = out.report;
      void vscode.window.showInformationMessage(`Sovereign: accuracy ${(r.accuracy * 100).toFixed(2)}%, error rate ${(r.errorRate * 100).toFixed(2)}% on ${r.rows} rows (macro F1 ${r.macroF1.toFixed(3)}, batch-1 p50 ${r.latency.batch1Ms.p50.toFixed(3)} ms).`);
    }),
  );
}
