import * as vscode from 'vscode';
import { basename, join } from 'node:path';
import { signModel } from '../../core/signing/model';
import { privateKeyFromPem } from '../../core/signing/keys';
import { describeError } from '../../core/util/errors';
import { POLICY_FILE } from '../../core/workspace/workspace';
import { initRegistry } from '../../core/govern/ops';
import { addPolicyException } from '../../core/policy/add-exception';
import { pickWorkspaceRoot, type ExtensionServices } from '../context';
import { registerKeyCommands, SIGNING_KEY_SECRET } from './key-commands';
import type { ModelNode } from './models-view';
import { nodeRoot, pickVersion } from './pick';
import type { RegistryState } from './registry-state';

/** Answers to Register Model's questions, for callers that already know them (tasks, other extensions, tests). */
export interface RegisterPreset {
  name: string;
  version: string;
  license?: string;
  /** Where the weights came from (a URI). */
  source?: string;
  /** The registry (workspace root) to register in; default: the one holding the file, the only one, or asked. */
  root?: string;
}

export { SIGNING_KEY_SECRET } from './key-commands';

function fail(services: ExtensionServices, what: string, err: unknown): void {
  const message = describeError(err);
  services.log.error(`${what}: ${message}`);
  void vscode.window.showErrorMessage(`Sovereign: ${what} failed: ${message.split('\n')[0]}`, 'Show Log').then((c) => c && services.log.show());
}

function refOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const node = arg as ModelNode | undefined;
  if (node?.kind === 'version') return `${node.version.name}@${node.version.version}`;
  if (node?.kind === 'model') return node.name;
  return undefined;
}

/** Register, alias, sign, verify, keys, exceptions, audit: the registry commands of the palette. */
export function registerRegistryCommands(services: ExtensionServices, state: RegistryState): void {
  const { context } = services;
  registerKeyCommands(services, state);
  context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.refreshRegistry', () => state.refresh()),

    vscode.commands.registerCommand('sovereign.initRegistry', async (arg?: unknown) => {
      const root = await pickWorkspaceRoot(services, { title: 'Initialise Registry and Policy', among: 'git', root: nodeRoot(arg), path: arg instanceof vscode.Uri ? arg.fsPath : undefined });
      if (!root) return;
      try {
        const result = await initRegistry(root);
        await vscode.window.showTextDocument(vscode.Uri.file(join(root, POLICY_FILE)));
        await state.refresh();
        void vscode.window.showInformationMessage(result.created.length ? `Sovereign: created ${result.created.join(', ')} (commit ${result.commit?.slice(0, 8)}).` : 'Sovereign: the registry is already initialised.');
      } catch (err) {
        fail(services, 'initialising the registry', err);
      }
    }),

    vscode.commands.registerCommand('sovereign.registerModel', async (uri?: vscode.Uri | ModelNode, preset?: RegisterPreset) => {
      // From the Models view's folder node: that folder's registry; from the explorer: the folder holding the file.
      const root = await pickWorkspaceRoot(services, { title: 'Register Model', root: preset?.root ?? nodeRoot(uri), path: uri instanceof vscode.Uri ? uri.fsPath : undefined });
      if (!root) return;
      const input = (uri instanceof vscode.Uri ? uri : undefined) ?? (await vscode.window.showOpenDialog({ title: 'Register Model', openLabel: 'Register', canSelectFiles: true, canSelectFolders: true, defaultUri: vscode.Uri.file(root) }))?.[0];
      if (!input) return;
      const defaultName = basename(input.fsPath).replace(/\.(gguf|onnx|safetensors|bin|pt|pth|h5|keras)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-');
      const name = preset?.name ?? (await vscode.window.showInputBox({ title: 'Register Model (1/3): name', value: defaultName, validateInput: (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(v) ? undefined : 'letters, digits, ".", "_" or "-"') }));
      if (!name) return;
      const existing = (state.snapshotOf(root)?.versions ?? []).filter((v) => v.name === name).map((v) => v.version);
      const next = existing.length ? bumpPatch(existing[existing.length - 1]) : '1.0.0';
      const version = preset?.version ?? (await vscode.window.showInputBox({ title: 'Register Model (2/3): version', value: next, validateInput: (v) => (/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(v) ? undefined : 'a semantic version, e.g. 1.0.0') }));
      if (!version) return;
      const license = preset ? (preset.license ?? '') : await vscode.window.showInputBox({ title: 'Register Model (3/3): license (SPDX id, optional: a folder\'s model card can supply it)', placeHolder: 'Apache-2.0' });
      if (license === undefined) return;
      const privateKeyPem = await context.secrets.get(SIGNING_KEY_SECRET);
      try {
        const result = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Registering ${name}@${version}`, cancellable: false },
          (progress) =>
            services.worker.call('registerModel', [root, { input: input.fsPath, name, version, license: license || undefined, source: preset?.source ? { uri: preset.source } : undefined, privateKeyPem }], (stage) => progress.report({ message: stage })),
        );
        services.log.info(`registered ${name}@${version}: ${result.manifestFile} (commit ${result.commit})`);
        await state.refresh();
        const open = 'Open Manifest';
        const card = result.provenance?.from_model_card?.length ? ` ${result.provenance.from_model_card.join(', ')} taken from the model card (${result.provenance.model_card}).` : '';
        const choice = await vscode.window.showInformationMessage(`Sovereign: registered ${name}@${version}${result.signatureFile ? ' (signed)' : ''} in commit ${result.commit.slice(0, 8)}.${card}`, open);
        if (choice === open) await vscode.window.showTextDocument(vscode.Uri.file(join(root, result.manifestFile)));
        return result;
      } catch (err) {
        fail(services, `registering ${name}@${version}`, err);
        return undefined;
      }
    }),

    vscode.commands.registerCommand('sovereign.setAlias', async (arg?: unknown, inRoot?: string) => {
      const picked = await pickVersion(services, state, arg, 'Set Alias: which version?', inRoot);
      if (!picked) return;
      const { root, ref } = picked;
      const alias = await vscode.window.showQuickPick(['staging', 'production', 'champion', 'Other...'], { title: `Set Alias: ${ref} becomes...` });
      const name = alias === 'Other...' ? await vscode.window.showInputBox({ title: 'Alias name' }) : alias;
      if (!name) return;
      try {
        const result = await services.worker.call('setAlias', [root, ref, name]);
        await state.refresh();
        void vscode.window.showInformationMessage(`Sovereign: ${name} -> ${ref}${result.from ? ` (was ${result.from})` : ''}.`);
      } catch (err) {
        fail(services, `setting ${name} on ${ref}`, err);
      }
    }),

    vscode.commands.registerCommand('sovereign.verifyModel', async (arg?: unknown, inRoot?: string) => {
      const picked = await pickVersion(services, state, arg, 'Verify Model', inRoot);
      if (!picked) return;
      const { root, ref } = picked;
      try {
        const v = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Verifying ${ref} (re-hashing artifacts)` }, () =>
          services.worker.call('verifyVersion', [root, ref]),
        );
        const bad = v.artifacts.filter((a) => a.status !== 'ok');
        const sig = v.signature.status === 'valid' ? `signature valid (key ${v.signature.keyId?.slice(0, 12)})` : v.signature.status === 'unsigned' ? 'not signed' : `signature INVALID: ${v.signature.reason ?? v.signature.failure}`;
        const msg = `Sovereign: ${ref}: ${bad.length ? `${bad.length} artifact(s) ${bad.map((a) => `${a.path} ${a.status}`).join(', ')}` : 'artifacts intact'}; ${sig}.`;
        if (v.ok) void vscode.window.showInformationMessage(msg);
        else void vscode.window.showErrorMessage(msg);
        // Returned for tasks, other extensions and tests (`executeCommand` resolves with it).
        return { ...v, root, ref };
      } catch (err) {
        fail(services, `verifying ${ref}`, err);
        return undefined;
      }
    }),

    vscode.commands.registerCommand('sovereign.signModel', async (arg?: unknown, inRoot?: string) => {
      const pem = await context.secrets.get(SIGNING_KEY_SECRET);
      if (!pem) {
        const gen = 'Generate Key';
        const imp = 'Import Key';
        const choice = await vscode.window.showWarningMessage('Sovereign: no signing key in SecretStorage.', gen, imp);
        if (choice === gen) await vscode.commands.executeCommand('sovereign.generateSigningKey');
        if (choice === imp) await vscode.commands.executeCommand('sovereign.importSigningKey');
        return;
      }
      if (refOf(arg)?.includes('@')) {
        const picked = await pickVersion(services, state, arg, 'Sign Model', inRoot);
        if (!picked) return;
        const { root, ref } = picked;
        try {
          const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Signing ${ref}` }, () => services.worker.call('signVersion', [root, ref, pem]));
          await state.refresh();
          void vscode.window.showInformationMessage(`Sovereign: signed ${r.ref} with key ${r.keyId.slice(0, 12)} (commit ${r.commit.slice(0, 8)}).`);
        } catch (err) {
          fail(services, `signing ${ref}`, err);
        }
        return;
      }
      const target = arg instanceof vscode.Uri ? arg : (await vscode.window.showOpenDialog({ title: 'Sign Model (file or folder)', canSelectFolders: true, canSelectFiles: true }))?.[0];
      if (!target) return;
      try {
        const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Signing ${basename(target.fsPath)}` }, () => signModel(target.fsPath, privateKeyFromPem(pem, 'the signing key in SecretStorage')));
        void vscode.window.showInformationMessage(`Sovereign: signed ${result.resources.length} file(s) with key ${result.keyId.slice(0, 12)}: ${vscode.workspace.asRelativePath(result.signaturePath)}`);
      } catch (err) {
        fail(services, 'signing', err);
      }
    }),

    vscode.commands.registerCommand('sovereign.requestException', async (model?: string, rule?: string, inRoot?: string) => {
      const root = await pickWorkspaceRoot(services, { title: 'Request Policy Exception', root: inRoot });
      if (!root) return;
      const m = model ?? (await vscode.window.showInputBox({ title: 'Exception: model name (or NAME@VERSION)' }));
      const r = rule ?? (await vscode.window.showInputBox({ title: 'Exception: rule id (e.g. license, signature-required)' }));
      if (!m || !r) return;
      const justification = await vscode.window.showInputBox({ title: `Exception for "${r}" on ${m}: justification`, prompt: 'Why is this acceptable? It is recorded in the policy and the audit trail.', validateInput: (v) => (v.trim().length >= 10 ? undefined : 'write a real justification (10 characters at least)') });
      if (!justification) return;
      const in30 = new Date(Date.now() + 30 * 86400_000).toISOString().slice(0, 10);
      const expires = await vscode.window.showInputBox({ title: 'Expiry date (YYYY-MM-DD)', value: in30, validateInput: (v) => (/^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) && Date.parse(v) > Date.now() ? undefined : 'a future date, YYYY-MM-DD') });
      if (!expires) return;
      try {
        await addPolicyException(join(root, POLICY_FILE), { model: m, rule: r, justification, expires });
        await state.refresh();
        void vscode.window.showInformationMessage(`Sovereign: exception for ${r} on ${m} added to the policy until ${expires}. Commit the policy to make it official.`);
      } catch (err) {
        fail(services, 'adding the exception', err);
      }
    }),

    vscode.commands.registerCommand('sovereign.checkPolicy', async () => {
      await state.refresh();
      const all = state.all.map((r) => r.snapshot);
      if (!all.length) {
        void vscode.window.showInformationMessage('Sovereign: no folder of this window holds a registry. Run "Sovereign: Initialise Registry and Policy" first.');
        return;
      }
      const n = all.reduce((sum, snap) => sum + snap.violations.length + snap.problems.length + (snap.policyError ? 1 : 0), 0);
      const versions = all.reduce((sum, snap) => sum + snap.versions.length, 0);
      const against = all.length > 1 ? `the policies of ${all.length} folders` : all[0].policyExists ? all[0].policyFile : 'the default policy';
      if (n === 0) void vscode.window.showInformationMessage(`Sovereign: ${versions} version(s) checked against ${against}: no violations.`);
      else {
        void vscode.window.showWarningMessage(`Sovereign: ${n} policy violation(s) or manifest problem(s).`, 'Show Problems').then((c) => c && vscode.commands.executeCommand('workbench.actions.view.problems'));
      }
    }),

    vscode.commands.registerCommand('sovereign.exportEvidence', async (arg?: unknown) => {
      const root = await pickWorkspaceRoot(services, { title: 'Export Evidence', root: nodeRoot(arg) });
      if (!root) return;
      const target = (await vscode.window.showOpenDialog({ title: 'Export Evidence: choose a folder for the bundle', canSelectFiles: false, canSelectFolders: true, openLabel: 'Export Here' }))?.[0];
      if (!target) return;
      const dir = join(target.fsPath, `sovereign-evidence-${new Date().toISOString().slice(0, 10)}`);
      try {
        const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Collecting compliance evidence' }, () => services.worker.call('writeEvidence', [root, dir]));
        const open = 'Open Report';
        const msg = `Sovereign: evidence bundle written to ${r.dir} (${r.files.length} files)${r.auditOk === false ? '. WARNING: the audit chain is broken.' : '.'}`;
        const choice = r.auditOk === false ? await vscode.window.showWarningMessage(msg, open) : await vscode.window.showInformationMessage(msg, open);
        if (choice === open) await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(join(r.dir, 'report.md')));
      } catch (err) {
        fail(services, 'exporting evidence', err);
      }
    }),

    vscode.commands.registerCommand('sovereign.showAuditLog', async (arg?: unknown) => {
      const root = await pickWorkspaceRoot(services, { title: 'Show Audit Log', root: nodeRoot(arg) });
      if (!root) return;
      const file = vscode.Uri.file(join(root, '.sovereign', 'audit.jsonl'));
      try {
        const v = await services.worker.call('verifyAudit', [root]);
        await vscode.window.showTextDocument(file, { preview: false });
        if (v.ok) void vscode.window.showInformationMessage(`Sovereign: audit log intact (${v.entries} entries, hash chain verified).`);
        else {
          const bad = v.firstBad;
          void vscode.window.showErrorMessage(`Sovereign: the audit log chain is BROKEN at line ${bad?.line}${bad?.seq !== undefined ? ` (seq ${bad.seq})` : ''}: ${bad?.reason}`);
          if (bad) {
            const editor = vscode.window.activeTextEditor;
            if (editor?.document.uri.fsPath === file.fsPath) {
              const range = editor.document.lineAt(Math.max(0, bad.line - 1)).range;
              editor.selection = new vscode.Selection(range.start, range.end);
              editor.revealRange(range, vscode.TextEditorRevealType.InCenter);
              const deco = vscode.window.createTextEditorDecorationType({ backgroundColor: new vscode.ThemeColor('diffEditor.removedLineBackground'), isWholeLine: true });
              editor.setDecorations(deco, [range]);
              setTimeout(() => deco.dispose(), 30_000);
            }
          }
        }
      } catch (err) {
        fail(services, 'reading the audit log', err);
      }
    }),
  );
}

function bumpPatch(v: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : '1.0.0';
}
