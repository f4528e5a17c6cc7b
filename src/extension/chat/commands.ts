import * as vscode from 'vscode';
import type { ModelNode } from '../registry/models-view';
import type { ExtensionServices } from '../context';
import { PlaygroundPanel } from '../webviews/playground-panel';
import { VERSION_PREFIX } from './chat-service';

/** "Chat in Playground" on a version of the Models view: opens the Playground with that version chosen. */
export function registerChatCommands(services: ExtensionServices): void {
  services.context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.chatWithVersion', async (arg?: unknown) => {
      const node = arg as ModelNode | undefined;
      const ref = node?.kind === 'version' ? `${node.version.name}@${node.version.version}` : typeof arg === 'string' ? arg : undefined;
      await vscode.commands.executeCommand('sovereign.showPlayground');
      if (ref) PlaygroundPanel.open?.select(VERSION_PREFIX + ref);
    }),
  );
}
