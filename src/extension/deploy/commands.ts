import * as vscode from 'vscode';
import { showDeploymentLogs } from './logs';
import type { Deployment } from '../../core/deploy/deployments';
import type { ExtensionServices } from '../context';
import { withCoreProgress } from '../core-client';
import { pickVersion } from '../registry/pick';
import type { RegistryState } from '../registry/registry-state';
import type { DeploymentsView } from './deployments-view';

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

async function pickDeployedModel(view: DeploymentsView, arg: unknown, title: string): Promise<string | undefined> {
  const d = arg as Deployment | undefined;
  if (d?.model) return d.model;
  await view.refresh();
  const names = [...new Set(view.list().map((x) => x.model))];
  if (names.length <= 1) return names[0] ?? (void vscode.window.showInformationMessage('Sovereign: nothing is deployed.'), undefined);
  return vscode.window.showQuickPick(names, { title });
}

/** Deploy to Staging, Canary, Promote, Rollback, Remove, Prune Images, Logs: the core's deploy services (as `sovereign deploy` calls them) behind the palette. */
export function registerDeployCommands(services: ExtensionServices, state: RegistryState, view: DeploymentsView): void {
  const core = services.core;
  services.context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.refreshDeployments', () => view.refresh()),

    vscode.commands.registerCommand('sovereign.deployStaging', async (arg?: unknown, inRoot?: string) => {
      // The version in its folder's registry: that registry's policy gates it and its audit log records it.
      const picked = await pickVersion(services, state, arg, 'Deploy to Staging', inRoot);
      if (!picked) return;
      const { ref, root } = picked;
      const r = await withCoreProgress(services, `Deploying ${ref} to staging`, (call) => core.deployStaging(ref, { ...call, root }));
      await view.refresh();
      if (!r) return;
      const t = r.timings;
      services.log.info(`deployed ${r.model}@${r.version}: ${r.url} (${r.container}); cold start ${JSON.stringify(t)}`);
      const useIt = 'Use for Completion';
      const choice = await vscode.window.showInformationMessage(
        `Sovereign: ${r.model}@${r.version} serves on ${r.url} (image ${r.imageReused ? 'reused' : 'built'} ${Math.round((t.imageBuildMs ?? 0) / 1000)} s, start ${Math.round((t.containerStartMs ?? 0) / 1000)} s, load ${Math.round((t.modelLoadMs ?? 0) / 1000)} s, first token ${Math.round(t.firstTokenMs ?? 0)} ms).`,
        useIt,
      );
      if (choice === useIt) {
        const config = vscode.workspace.getConfiguration('sovereign.completion');
        await config.update('url', r.url, vscode.ConfigurationTarget.Workspace);
        await config.update('backend', 'staging', vscode.ConfigurationTarget.Workspace);
      }
    }),

    vscode.commands.registerCommand('sovereign.deployCanary', async (arg?: unknown, inRoot?: string) => {
      const picked = await pickVersion(services, state, arg, 'Canary: which version replaces the stable one?', inRoot);
      if (!picked) return;
      const { ref, root } = picked;
      const r = await withCoreProgress(services, `Canary ${ref}`, (call) => core.deployCanary(ref, { ...call, root }));
      await view.refresh();
      if (!r) return;
      const shadow = r.shadow
        ? `; live traffic: ${r.shadow.mirrored} mirrored${r.shadow.agreement === null ? '' : `, agreement ${(r.shadow.agreement * 100).toFixed(0)}% of ${r.shadow.comparable}`}, ${r.shadow.canaryErrors} canary errors`
        : '';
      const stats = `agreement ${(r.agreement * 100).toFixed(0)}%, latency ratio ${r.latencyRatio.toFixed(2)}${shadow}`;
      if (r.verdict === 'rejected') void vscode.window.showWarningMessage(`Sovereign: canary ${ref} rejected (${stats}); the current version keeps serving. ${r.reasons.join('; ')}`);
      else void vscode.window.showInformationMessage(`Sovereign: canary ${ref} ${r.verdict === 'promoted' ? 'passed and was promoted' : 'passed'} (${stats}).`);
    }),

    vscode.commands.registerCommand('sovereign.promoteDeployment', async (arg?: unknown) => {
      const name = await pickDeployedModel(view, arg, 'Promote the canary of...');
      if (!name) return;
      const out = await withCoreProgress(services, `Promoting ${name}`, () => core.promote(name));
      await view.refresh();
      if (out) void vscode.window.showInformationMessage(`Sovereign: ${name} promoted.`);
    }),

    vscode.commands.registerCommand('sovereign.rollbackDeployment', async (arg?: unknown) => {
      const name = await pickDeployedModel(view, arg, 'Roll back...');
      if (!name) return;
      const reason = await vscode.window.showInputBox({ title: `Roll back ${name}: reason (recorded in the audit log)`, value: 'rolled back from VS Code' });
      if (reason === undefined) return;
      const out = await withCoreProgress(services, `Rolling back ${name}`, () => core.rollback(name, reason));
      await view.refresh();
      if (out) void vscode.window.showInformationMessage(`Sovereign: ${name} rolled back.`);
    }),

    vscode.commands.registerCommand('sovereign.removeDeployment', async (arg?: unknown) => {
      const name = await pickDeployedModel(view, arg, 'Remove the deployments of...');
      if (!name) return;
      const sure = await vscode.window.showWarningMessage(`Stop and remove every container of ${name}?`, { modal: true }, 'Remove');
      if (sure !== 'Remove') return;
      await withCoreProgress(services, `Removing ${name}`, () => core.removeDeployments(name));
      await view.refresh();
    }),

    vscode.commands.registerCommand('sovereign.pruneDeploymentImages', async () => {
      // A dry run first: the user sees what goes and how much it frees before anything is removed.
      const plan = await withCoreProgress(services, 'Looking for unused deployment images', () => core.pruneImages(true));
      if (!plan) return;
      if (!plan.removed.length) {
        void vscode.window.showInformationMessage(`Sovereign: no unused deployment image (${plan.kept.length} in use or kept for the next deploy).`);
        return;
      }
      const detail = plan.removed.map((i) => `${i.tags[0] ?? i.id.slice(7, 19)} (${i.kind}, ${mib(i.sizeBytes)})`).join('\n');
      const sure = await vscode.window.showWarningMessage(`Remove ${plan.removed.length} unused deployment image(s), ${mib(plan.reclaimableBytes)}?`, { modal: true, detail }, 'Remove');
      if (sure !== 'Remove') return;
      const done = await withCoreProgress(services, 'Removing unused deployment images', () => core.pruneImages(false));
      if (done) void vscode.window.showInformationMessage(`Sovereign: removed ${done.removed.length} image(s), ${mib(done.reclaimableBytes)}.`);
    }),

    vscode.commands.registerCommand('sovereign.showDeploymentLogs', async (arg?: unknown) => {
      const name = await pickDeployedModel(view, arg, 'Logs of...');
      if (!name) return;
      showDeploymentLogs(services, name, (arg as Deployment | undefined)?.version);
    }),
  );
}
