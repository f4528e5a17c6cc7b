/**
 * Helpers for suites that run inside the real extension host (desktop VS Code or code-server).
 * They only use the public `vscode` API, so a suite behaves the same under both launchers.
 */
import { execFileSync } from 'node:child_process';
import * as vscode from 'vscode';

/** `publisher.name` from package.json: the id VS Code knows the extension by. */
export function extensionId(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const manifest = require('../../../../package.json') as { publisher: string; name: string };
  return `${manifest.publisher}.${manifest.name}`;
}

/** The extension under test, activated. */
export async function activatedExtension(): Promise<vscode.Extension<unknown>> {
  const extension = vscode.extensions.getExtension(extensionId());
  if (!extension) throw new Error(`Extension ${extensionId()} is not loaded: was the host started with extensionDevelopmentPath?`);
  await extension.activate();
  return extension;
}

/**
 * The workbench's API. Activation only registers stand-ins (src/extension/extension.ts); the API's `api()`
 * loads the workbench if nothing has loaded it yet.
 */
export async function workbenchApi<T>(): Promise<T> {
  const exports = (await activatedExtension()).exports as { api?: () => Promise<unknown> } | undefined;
  if (typeof exports?.api !== 'function') throw new Error('the extension exports no api(): is this the activation shell of src/extension/extension.ts?');
  return (await exports.api()) as T;
}

export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(100);
  }
}

/**
 * Runs a command whose handler ends by awaiting a notification (`showInformationMessage` with a button
 * resolves only when the notification closes): notifications are cleared until the command returns, as
 * a person dismissing them would.
 */
export async function executeDismissingNotifications<T>(command: string, ...args: unknown[]): Promise<T> {
  let settled = false;
  const result = Promise.resolve(vscode.commands.executeCommand<T>(command, ...args)).finally(() => (settled = true));
  void (async () => {
    while (!settled) {
      await sleep(250);
      if (!settled) await vscode.commands.executeCommand('notifications.clearAll');
    }
  })();
  return result;
}

/**
 * Closes every editor, discarding untitled reports (closing a dirty editor would ask to save, and
 * dialogs are refused in tests): each test starts from an empty editor area.
 */
export async function closeAllEditors(): Promise<void> {
  for (let i = 0; i < 50 && vscode.window.tabGroups.all.some((g) => g.tabs.length > 0); i++) {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** The editor showing a document whose text matches, once it is there. */
export function waitForEditorWith(pattern: RegExp, what: string, timeoutMs = 20_000): Promise<vscode.TextEditor> {
  return waitFor(() => vscode.window.visibleTextEditors.find((e) => pattern.test(e.document.getText())), what, timeoutMs);
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * The test profile has its own HOME, so no global git identity: give the workspace repository one (the
 * registry commits in it). Returns a git runner for that repository.
 */
export function ensureGitIdentity(root: string): (...args: string[]) => string {
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
  let email = '';
  try {
    email = git('config', '--get', 'user.email').trim();
  } catch {
    // exit 1: not set
  }
  if (!email) {
    git('config', 'user.name', 'Extension Test');
    git('config', 'user.email', 'extension-test@sovereign.invalid');
  }
  return git;
}
