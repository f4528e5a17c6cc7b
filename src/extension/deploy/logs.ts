import * as vscode from 'vscode';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices } from '../context';

const channels = new Map<string, { channel: vscode.OutputChannel; stop?: AbortController }>();

/** Streams a deployment's output (the last 200 lines, then live) into an output channel per model (one stream at a time). */
export function showDeploymentLogs(services: ExtensionServices, model: string, version?: string): void {
  let entry = channels.get(model);
  if (!entry) {
    entry = { channel: vscode.window.createOutputChannel(`Sovereign: ${model} (staging)`) };
    channels.set(model, entry);
    services.context.subscriptions.push({
      dispose: () => {
        entry?.stop?.abort();
        entry?.channel.dispose();
        channels.delete(model);
      },
    });
  }
  entry.stop?.abort();
  const stop = new AbortController();
  entry.stop = stop;
  const channel = entry.channel;
  channel.clear();
  channel.show(true);
  services.core.followLogs(model, version, (text) => channel.append(text), stop.signal).then(
    () => channel.appendLine('\n[log stream ended]'),
    (err: unknown) => channel.appendLine(`\n[log stream ended (${describeError(err).split('\n')[0]})]`),
  );
}
