import * as vscode from 'vscode';
import { isoDay, type PolicyViolation } from '../../core/policy/evaluate';
import { UNWAIVABLE, type PolicyRule } from '../../core/policy/rules';
import type { RegistrySnapshot } from '../../core/worker/registry-methods';
import type { PolicyContract, PolicyState, ViolationRow } from '../../../webview/policy/contract';
import type { ExtensionServices } from '../context';
import type { RegistryState } from '../registry/registry-state';
import { PanelSlot, ViewPanel, type PanelOrigin } from './view-panel';
import { signFromWebview } from './sign-confirm';
import { VIEW_TYPES } from '../../../webview/shared/view-state';
import { POLICY_PARAMS } from '../../../webview/policy/schema';

/** The quick fixes the view may offer for a violation: the same ones the diagnostics offer. */
export function toViolationRow(v: PolicyViolation): ViolationRow {
  return {
    rule: v.rule,
    severity: v.severity,
    message: v.message,
    fix: v.fix,
    file: v.file,
    line: v.line,
    column: v.column,
    model: v.model,
    version: v.version,
    canSign: (v.rule === 'signature-required' || v.rule === 'signature-revoked') && !!v.model && !!v.version,
    canRequestException: !UNWAIVABLE.has(v.rule as PolicyRule) && !!v.model,
  };
}

export function policyState(snap: RegistrySnapshot | undefined, today = new Date()): PolicyState {
  if (!snap) return { kind: 'empty', message: 'No model registry in this workspace. Run "Sovereign: Initialise Registry and Policy".' };
  return {
    kind: 'report',
    violations: snap.violations.map(toViolationRow),
    waived: snap.waived.map((w) => ({
      ...toViolationRow(w.violation),
      justification: w.exception.justification,
      expires: w.exception.expires,
      approvedBy: w.exception.approved_by,
      exceptionFor: w.exception.model,
    })),
    problems: snap.problems.map((p) => ({ file: p.file, line: p.line, message: p.fix ? `${p.message} (fix: ${p.fix})` : p.message })),
    policyFile: snap.policyFile,
    policyExists: snap.policyExists,
    policyError: snap.policyError,
    today: isoDay(today),
  };
}

/** Policy violations grouped by model and rule, with links to the manifest line and the quick fixes. */
export class PolicyPanel extends ViewPanel<PolicyContract> {
  private static readonly slot = new PanelSlot<PolicyPanel>();

  /** The open panel, if any (one per view). */
  static get open(): PolicyPanel | undefined {
    return PolicyPanel.slot.open;
  }

  static show(services: ExtensionServices, registry: RegistryState, column?: vscode.ViewColumn): PolicyPanel {
    return PolicyPanel.slot.show((origin) => new PolicyPanel(services, registry, origin), column);
  }

  static revive(services: ExtensionServices, registry: RegistryState, panel: vscode.WebviewPanel): PolicyPanel {
    return PolicyPanel.slot.revive((origin) => new PolicyPanel(services, registry, origin), panel);
  }

  private constructor(services: ExtensionServices, private readonly registry: RegistryState, origin: PanelOrigin) {
    super(services, { viewType: VIEW_TYPES.policy, bundle: 'policy', title: 'Policy Violations' }, POLICY_PARAMS, origin);
    this.rpc
      .handle('openLocation', ({ file, line, column }) => {
        const root = this.registry.snapshot?.root;
        // Only files the report named: the webview cannot make the host open anything else.
        const known = this.registry.snapshot && [...this.registry.snapshot.violations, ...this.registry.snapshot.waived.map((w) => w.violation), ...this.registry.snapshot.problems].some((v) => v.file === file);
        if (!root || !(known || file === this.registry.snapshot?.policyFile)) throw new Error(`${file} is not part of the policy report`);
        return this.openFile(root, file, line, column);
      })
      .handle('signModel', async ({ model, version }) => {
        // Only a version of this registry, and only after the person confirms (a modal naming it and the key).
        if (!this.registry.snapshot?.versions.some((v) => v.name === model && v.version === version)) throw new Error(`${model}@${version} is not a registered version of this registry`);
        await signFromWebview(this.services, VIEW_TYPES.policy, `${model}@${version}`, this.registry.snapshot?.root);
      })
      .handle('requestException', async ({ model, rule }) => {
        await vscode.commands.executeCommand('sovereign.requestException', model, rule, this.registry.snapshot?.root);
      })
      .handle('refresh', async () => {
        await this.registry.refresh();
      });
    this.track(registry.onDidChange((snap) => this.gate.publish('state', policyState(snap))));
    this.gate.publish('state', registry.snapshot ? policyState(registry.snapshot) : { kind: 'loading' });
    if (!registry.snapshot) void registry.refresh();
  }

  protected override onDisposed(): void {
    PolicyPanel.slot.release(this);
  }
}
