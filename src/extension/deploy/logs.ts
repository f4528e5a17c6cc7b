import * as vscode from 'vscode';
import { fork, type ChildProcess } from 'node:child_process';
import type { ExtensionServices } from '../context';

const channels = new Map<string, { channel: vscode.OutputChannel; child?: ChildProcess }>();

/** Streams `sovereign deploy logs NAME --follow` into an output channel per model (one stream at a time). */
export function spawnCliLogs(services: ExtensionServices, model: string, version?: string): void {
  let entry = channels.get(model);
  if (!entry) {
    entry = { channel: vscode.window.createOutputChannel(`Sovereign: ${model} (staging)`) };
    channels.set(model, entry);
    services.context.subscriptions.push({
      dispose: () => {
        entry?.child?.kill();
        entry?.channel.dispose();
        channels.delete(model);
      },
    });
  }
  entry.child?.kill();
  const args = ['deploy', 'logs', model, '--follow', '--tail', '200', ...(version ? ['--version', version] : [])];
  const child = fork(services.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, execArgv: [] });
  entry.child = child;
  const channel = entry.channel;
  channel.clear();
  channel.show(true);
  child.stdout!.on('data', (d: Buffer) => channel.append(d.toString()));
  child.stderr!.on('data', (d: Buffer) => channel.append(d.toString()));
  child.on('close', (code) => channel.appendLine(`\n[log stream ended${code ? ` (exit ${code})` : ''}]`));
}
