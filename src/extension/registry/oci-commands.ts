import * as vscode from 'vscode';
import { parseOciReference } from '../../core/oci/reference';
import type { Credentials } from '../../core/oci/auth';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices } from '../context';
import { withCoreProgress, type OciCallOptions } from '../core-client';
import type { ModelNode } from './models-view';
import type { RegistryState } from './registry-state';

const LAST_DESTINATION = 'sovereign.oci.lastDestination';
const LAST_SOURCE = 'sovereign.oci.lastSource';
const secretKey = (host: string): string => `sovereign.oci.credentials/${host.toLowerCase()}`;

/** Options a test (or another command) passes instead of answering the prompts. */
interface OciCommandArgs {
  caFile?: string;
  insecure?: boolean;
}

async function pickVersion(state: RegistryState, arg: unknown): Promise<string | undefined> {
  const node = arg as ModelNode | undefined;
  if (node?.kind === 'version') return `${node.version.name}@${node.version.version}`;
  if (typeof arg === 'string') return arg;
  const snap = state.snapshot ?? (await state.refresh());
  const items = [...(snap?.versions ?? [])].reverse().map((v) => ({ label: `${v.name}@${v.version}`, description: `${v.signed ? 'signed' : 'unsigned'}${v.aliases.length ? ` · ${v.aliases.join(', ')}` : ''}` }));
  if (!items.length) {
    void vscode.window.showInformationMessage('Sovereign: register a model first (Sovereign: Register Model...).');
    return undefined;
  }
  return (await vscode.window.showQuickPick(items, { title: 'Push Model to OCI Registry' }))?.label;
}

function validateRef(value: string): string | undefined {
  try {
    parseOciReference(value.trim());
    return undefined;
  } catch (err) {
    return describeError(err).split('\n')[0];
  }
}

/** The connection options: settings, then credentials kept in SecretStorage for the host (else the docker config). */
async function callOptions(services: ExtensionServices, ref: string, args: OciCommandArgs = {}): Promise<OciCallOptions> {
  const config = vscode.workspace.getConfiguration('sovereign.oci');
  const parsed = parseOciReference(ref);
  let credentials: Credentials | undefined;
  if (parsed.kind === 'registry') {
    const stored = await services.context.secrets.get(secretKey(parsed.host));
    if (stored) {
      const { username, password } = JSON.parse(stored) as { username: string; password: string };
      credentials = { username, password, source: 'VS Code SecretStorage' };
    }
  }
  return {
    caFile: args.caFile ?? (config.get<string>('caFile') || undefined),
    insecure: args.insecure ?? config.get<boolean>('insecure', false),
    credentials,
  };
}

/** Push / Pull Model to/from an OCI registry, and the registry credentials in SecretStorage: the core's push and pull, as `sovereign push|pull` calls them. */
export function registerOciCommands(services: ExtensionServices, state: RegistryState): void {
  const { context } = services;
  context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.pushModelToOci', async (arg?: unknown, destinationArg?: string, args?: OciCommandArgs) => {
      const model = await pickVersion(state, arg);
      if (!model) return undefined;
      const destination =
        destinationArg ??
        (await vscode.window.showInputBox({
          title: `Push ${model} to`,
          prompt: 'oci://HOST[:PORT]/REPOSITORY[:TAG] (the tag defaults to the version), or oci:FOLDER for an OCI image layout',
          value: context.workspaceState.get<string>(LAST_DESTINATION) ?? '',
          validateInput: validateRef,
        }))?.trim();
      if (!destination) return undefined;
      await context.workspaceState.update(LAST_DESTINATION, destination);
      const options = await callOptions(services, destination, args);
      const result = await withCoreProgress(services, `Pushing ${model}`, (call) => services.core.pushToOci(model, destination, options, call));
      if (result) void vscode.window.showInformationMessage(`Sovereign: pushed ${result.model} to ${result.target} (${result.digest.slice(0, 19)}..., ${result.referrers.length} referrer(s)).`);
      return result;
    }),

    vscode.commands.registerCommand('sovereign.pullModelFromOci', async (sourceArg?: string, args?: OciCommandArgs) => {
      const source =
        sourceArg ??
        (await vscode.window.showInputBox({
          title: 'Pull Model from OCI Registry',
          prompt: 'oci://HOST[:PORT]/REPOSITORY:TAG or @sha256:..., or oci:FOLDER:TAG. The version is checked (digests, signature, policy, scan) before it is registered.',
          value: context.workspaceState.get<string>(LAST_SOURCE) ?? '',
          validateInput: validateRef,
        }))?.trim();
      if (!source) return undefined;
      await context.workspaceState.update(LAST_SOURCE, source);
      const options = await callOptions(services, source, args);
      const result = await withCoreProgress(services, `Pulling ${source}`, (call) => services.core.pullFromOci(source, options, call));
      if (!result) return undefined;
      await state.refresh();
      void vscode.window.showInformationMessage(
        result.alreadyRegistered ? `Sovereign: ${result.model} is already registered.` : `Sovereign: pulled ${result.model} (signature ${result.signature.status}); commit ${result.commit?.slice(0, 8)}.`,
      );
      return result;
    }),

    vscode.commands.registerCommand('sovereign.setOciCredentials', async () => {
      const host = (await vscode.window.showInputBox({ title: 'OCI registry credentials', prompt: 'Registry host[:port]', placeHolder: 'registry.internal:5000' }))?.trim();
      if (!host) return;
      const username = await vscode.window.showInputBox({ title: `Credentials for ${host}`, prompt: 'User name' });
      if (username === undefined) return;
      const password = await vscode.window.showInputBox({ title: `Credentials for ${host}`, prompt: 'Password or access token', password: true });
      if (password === undefined) return;
      if (!username && !password) {
        await context.secrets.delete(secretKey(host));
        void vscode.window.showInformationMessage(`Sovereign: credentials for ${host} removed (the docker config file applies).`);
        return;
      }
      await context.secrets.store(secretKey(host), JSON.stringify({ username, password }));
      void vscode.window.showInformationMessage(`Sovereign: credentials for ${host} kept in SecretStorage.`);
    }),
  );
}
