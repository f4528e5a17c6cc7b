import { createPrivateKey, createPublicKey } from 'node:crypto';
import * as vscode from 'vscode';
import { keyIdOf } from '../../core/signing/keys';
import { describeError } from '../../core/util/errors';
import { RpcError } from '../../../webview/shared/ipc';
import type { ExtensionServices } from '../context';
import { SIGNING_KEY_SECRET } from '../registry/commands';

/** The button of the confirmation: nothing else signs. */
export const SIGN_CHOICE = 'Sign';

/**
 * Signing asked for by a webview (today the policy view's **Sign now**). A webview is not trusted (it
 * shows model-supplied text), so nothing is signed until the person confirms in a modal dialog that
 * names the version and the key; anything but **Sign** (Cancel, Escape, a dialog that cannot be
 * shown) answers the webview with a `cancelled` error and signs nothing. Every host method a webview
 * can call to sign goes through here.
 */
export async function signFromWebview(services: ExtensionServices, viewType: string, ref: string, root?: string): Promise<void> {
  const pem = await services.context.secrets.get(SIGNING_KEY_SECRET);
  if (!pem) {
    const gen = 'Generate Key';
    const imp = 'Import Key';
    void vscode.window.showWarningMessage('Sovereign: no signing key in SecretStorage.', gen, imp).then((choice) => {
      if (choice === gen) void vscode.commands.executeCommand('sovereign.generateSigningKey');
      if (choice === imp) void vscode.commands.executeCommand('sovereign.importSigningKey');
    });
    throw new RpcError('failed', `${ref} was not signed: there is no signing key. Generate or import one (Sovereign: Generate Signing Key), then sign again.`);
  }
  let keyId: string;
  try {
    keyId = keyIdOf(createPublicKey(createPrivateKey(pem))).slice(0, 16);
  } catch (err) {
    throw new RpcError('failed', `${ref} was not signed: the stored signing key cannot be read (${describeError(err)}). Import a valid key (Sovereign: Import Signing Key).`);
  }
  let choice: string | undefined;
  try {
    choice = await vscode.window.showWarningMessage(
      `Sign ${ref} with signing key ${keyId}?`,
      {
        modal: true,
        detail: 'A webview asked to sign this model version. Signing commits a signature over its files to the registry and records it in the audit log, under your key. Sign only if you asked for it.',
      },
      SIGN_CHOICE,
    );
  } catch (err) {
    services.log.warn(`webview ${viewType}: signing ${ref} not confirmed (the dialog failed: ${describeError(err)})`);
    throw new RpcError('cancelled', `signing ${ref} was not confirmed (the confirmation could not be shown: ${describeError(err)})`);
  }
  if (choice !== SIGN_CHOICE) {
    services.log.info(`webview ${viewType}: signing ${ref} with key ${keyId} cancelled by the user`);
    throw new RpcError('cancelled', `signing ${ref} was cancelled by the user`);
  }
  services.log.info(`webview ${viewType}: signing ${ref} with key ${keyId} confirmed by the user`);
  await vscode.commands.executeCommand('sovereign.signModel', ref, root);
}
