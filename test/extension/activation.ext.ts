import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import { activatedExtension, extensionId, waitFor, workbenchApi } from './support/vscode';

describe('extension in a real VS Code extension host', () => {
  it('loads from the development path and activates', async () => {
    const extension = await activatedExtension();
    assert.equal(extension.id.toLowerCase(), extensionId().toLowerCase());
    assert.equal(extension.isActive, true);
  });

  it('registers every command that package.json contributes', async () => {
    const extension = await activatedExtension();
    const contributed = (extension.packageJSON as { contributes?: { commands?: Array<{ command: string }> } }).contributes?.commands ?? [];
    assert.ok(contributed.length > 0, 'package.json contributes no command');
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map((c) => c.command).filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
  });

  it('loads the workbench by itself in a folder that holds a registry, and hands its API out', async () => {
    const extension = await activatedExtension();
    const exports = extension.exports as { loaded: boolean; api(): Promise<unknown> };
    // Activation returned stand-ins; the e2e folder holds .sovereign/, so the workbench loads without being asked.
    await waitFor(() => exports.loaded, 'the workbench to load for the governed folder');
    const api = await workbenchApi<{ registry: { all: unknown[] }; models: unknown }>();
    assert.equal(await exports.api(), api, 'api() hands out one workbench');
    assert.ok(api.models, 'the Models view is attached');
  });

  it('opens the e2e workspace folder', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 1);
    assert.equal(folders[0].uri.scheme, 'file');
  });
});
