import * as vscode from 'vscode';
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { importPrivateKey, listWorkspaceKeys, revokeKey, rotateSigningKey, trustPublicKey } from '../../core/govern/signing-keys';
import { newKeyMaterial, type KeyMaterial } from '../../core/signing/keys';
import { describeError } from '../../core/util/errors';
import { pickWorkspaceRoot, type ExtensionServices } from '../context';
import type { RegistryState } from './registry-state';

/** SecretStorage key of the signing key (PEM, PKCS#8). Never in settings, files or logs. */
export const SIGNING_KEY_SECRET = 'sovereign.signing.privateKey';

/** What the key commands return to callers (other commands, tasks, tests); never the private key. */
export interface KeyCommandResult {
  keyId: string;
  /** The public key file written (workspace-relative, or absolute for an export). */
  publicKeyFile?: string;
  previousKeyId?: string;
  revokedPrevious?: boolean;
}

function fail(services: ExtensionServices, what: string, err: unknown): undefined {
  const message = describeError(err);
  services.log.error(`${what}: ${message}`);
  void vscode.window.showErrorMessage(`Sovereign: ${what} failed: ${message.split('\n')[0]}`, 'Show Log').then((c) => c && services.log.show());
  return undefined;
}

async function storedKey(services: ExtensionServices): Promise<KeyMaterial | undefined> {
  const pem = await services.context.secrets.get(SIGNING_KEY_SECRET);
  return pem ? importPrivateKey(pem, 'the signing key in SecretStorage') : undefined;
}

/** Stores a key in SecretStorage and, in a workspace, trusts its public key in the policy. */
async function adopt(services: ExtensionServices, material: KeyMaterial, verb: string): Promise<KeyCommandResult | undefined> {
  // In a multi-root window the public key is trusted in one registry's policy: asked before anything is stored.
  const registries = (await services.registryRoots()).length;
  const root = registries ? await pickWorkspaceRoot(services, { title: `Signing key ${verb}: which registry trusts its public key` }) : await services.workspaceRoot();
  if (registries && !root) return undefined;
  await services.context.secrets.store(SIGNING_KEY_SECRET, material.privatePem);
  const short = material.keyId.slice(0, 16);
  if (!root) {
    void vscode.window.showInformationMessage(`Sovereign: signing key ${short} ${verb} into SecretStorage. Open the workspace and run "Sovereign: Export Public Key" to trust it there.`);
    return { keyId: material.keyId };
  }
  const t = await trustPublicKey(root, material);
  void vscode.window.showInformationMessage(
    `Sovereign: signing key ${short} ${verb} into SecretStorage; its public key is ${t.file}${t.added ? ', now listed under signature.trusted_keys in .sovereign/policy.yaml' : ''}. Commit both to make it official.`,
  );
  return { keyId: material.keyId, publicKeyFile: t.file };
}

/** Generate, import, export, rotate and revoke signing keys: thin commands over src/core/govern/signing-keys. */
export function registerKeyCommands(services: ExtensionServices, state: RegistryState): void {
  const { context } = services;
  context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.generateSigningKey', async (options?: { replace?: boolean }): Promise<KeyCommandResult | undefined> => {
      try {
        if ((await context.secrets.get(SIGNING_KEY_SECRET)) && options?.replace !== true) {
          const replace = await vscode.window.showWarningMessage(
            'A signing key is already stored. Replace it? (To keep versions signed with it verifiable, use "Sovereign: Rotate Signing Key" instead.)',
            { modal: true },
            'Replace',
          );
          if (replace !== 'Replace') return undefined;
        }
        const r = await adopt(services, newKeyMaterial(), 'generated');
        await state.refresh();
        return r;
      } catch (err) {
        return fail(services, 'generating a signing key', err);
      }
    }),

    vscode.commands.registerCommand('sovereign.importSigningKey', async (file?: vscode.Uri): Promise<KeyCommandResult | undefined> => {
      const target = file ?? (await vscode.window.showOpenDialog({ title: 'Import a PEM private key (EC P-256)', filters: { 'PEM keys': ['pem', 'key'] } }))?.[0];
      if (!target) return undefined;
      try {
        const material = importPrivateKey(await readFile(target.fsPath, 'utf8'), basename(target.fsPath));
        const r = await adopt(services, material, 'imported');
        if (!r) return undefined; // no registry chosen: nothing stored
        void vscode.window.showInformationMessage(`Sovereign: you can delete ${basename(target.fsPath)} now: the key is in SecretStorage.`);
        await state.refresh();
        return r;
      } catch (err) {
        return fail(services, 'importing the key', err);
      }
    }),

    vscode.commands.registerCommand('sovereign.exportPublicKey', async (target?: vscode.Uri): Promise<KeyCommandResult | undefined> => {
      try {
        const key = await storedKey(services);
        if (!key) {
          void vscode.window.showWarningMessage('Sovereign: no signing key in SecretStorage. Run "Sovereign: Generate Signing Key" or "Import Signing Key..." first.');
          return undefined;
        }
        const root = await services.workspaceRoot();
        const dest =
          target ??
          (await vscode.window.showSaveDialog({
            title: 'Export the public key (PEM)',
            defaultUri: root ? vscode.Uri.file(`${root}/${key.keyId.slice(0, 16)}.pub.pem`) : undefined,
            filters: { 'PEM public key': ['pem'] },
          }));
        if (!dest) return undefined;
        await writeFile(dest.fsPath, key.publicPem);
        void vscode.window.showInformationMessage(`Sovereign: public key ${key.keyId.slice(0, 16)} written to ${dest.fsPath}. Verifiers trust it with \`sovereign verify --key ${basename(dest.fsPath)}\`.`);
        return { keyId: key.keyId, publicKeyFile: dest.fsPath };
      } catch (err) {
        return fail(services, 'exporting the public key', err);
      }
    }),

    vscode.commands.registerCommand('sovereign.rotateSigningKey', async (options?: { revokeOld?: string | false; root?: string }): Promise<KeyCommandResult | undefined> => {
      const root = await pickWorkspaceRoot(services, { title: 'Rotate Signing Key', among: 'git', root: options?.root });
      if (!root) return undefined; // pickWorkspaceRoot said why
      try {
        const old = await context.secrets.get(SIGNING_KEY_SECRET);
        let revokeOld = options?.revokeOld;
        if (old && revokeOld === undefined) {
          const keep = 'Keep Old Key Trusted';
          const revoke = 'Revoke Old Key';
          const choice = await vscode.window.showWarningMessage(
            'Rotate the signing key: a new key replaces it in SecretStorage and is trusted in the policy. Keep trusting the old key (versions signed with it stay valid), or revoke it (it was lost or leaked: its signatures are refused)?',
            { modal: true },
            keep,
            revoke,
          );
          if (!choice) return undefined;
          if (choice === revoke) {
            revokeOld = await vscode.window.showInputBox({ title: 'Why is the old key revoked?', prompt: 'Recorded in .sovereign/policy.yaml and shown when a signature by it is refused', validateInput: (v) => (v.trim() ? undefined : 'give a reason') });
            if (revokeOld === undefined) return undefined;
          } else revokeOld = false;
        }
        const r = await rotateSigningKey(root, old, { revokeOldReason: typeof revokeOld === 'string' ? revokeOld : undefined });
        await context.secrets.store(SIGNING_KEY_SECRET, r.material.privatePem);
        await state.refresh();
        const was = r.oldKeyId ? ` (was ${r.oldKeyId.slice(0, 16)}${r.revokedOld ? ', now revoked' : ', still trusted'})` : '';
        void vscode.window.showInformationMessage(`Sovereign: new signing key ${r.material.keyId.slice(0, 16)}${was}; public key ${r.trusted.file}. Commit .sovereign/policy.yaml and .sovereign/keys/.`);
        return { keyId: r.material.keyId, publicKeyFile: r.trusted.file, previousKeyId: r.oldKeyId, revokedPrevious: r.revokedOld };
      } catch (err) {
        return fail(services, 'rotating the signing key', err);
      }
    }),

    vscode.commands.registerCommand('sovereign.revokeKey', async (keyId?: string, reason?: string, inRoot?: string): Promise<KeyCommandResult | undefined> => {
      const root = await pickWorkspaceRoot(services, { title: 'Revoke Key', among: 'git', root: inRoot });
      if (!root) return undefined; // pickWorkspaceRoot said why
      try {
        let id = keyId;
        if (!id) {
          const keys = (await listWorkspaceKeys(root)).filter((k) => !k.revoked);
          const current = await storedKey(services).catch(() => undefined);
          const pick = await vscode.window.showQuickPick(
            keys.map((k) => ({ label: k.keyId.slice(0, 16), description: k.keyId === current?.keyId ? 'the signing key in SecretStorage' : '', detail: `${k.keyId} · ${k.source}`, keyId: k.keyId })),
            { title: 'Revoke which trusted key?', placeHolder: keys.length ? undefined : 'no trusted keys in .sovereign/policy.yaml' },
          );
          id = pick?.keyId;
        }
        if (!id) return undefined;
        const why = reason ?? (await vscode.window.showInputBox({ title: `Why is key ${id.slice(0, 16)} revoked?`, prompt: 'Recorded in .sovereign/policy.yaml and shown when a signature by it is refused', validateInput: (v) => (v.trim() ? undefined : 'give a reason') }));
        if (why === undefined) return undefined;
        const r = await revokeKey(root, id, why);
        await state.refresh();
        void vscode.window.showWarningMessage(
          r.added
            ? `Sovereign: key ${id.slice(0, 16)} revoked in .sovereign/policy.yaml: versions signed with it are refused from now on. Commit the policy; re-sign what you still need with a current key.`
            : `Sovereign: key ${id.slice(0, 16)} was already revoked.`,
        );
        return { keyId: id };
      } catch (err) {
        return fail(services, 'revoking the key', err);
      }
    }),
  );
}
