import * as vscode from 'vscode';
import { UNWAIVABLE, type PolicyRule } from '../../core/policy/rules';
import { DIAGNOSTIC_SOURCE, type ViolationDiagnostic } from './diagnostics';

/** Stubs for required manifest fields: valid YAML a person then completes. */
const FIELD_STUBS: Record<string, string> = {
  license: 'license: TODO # an SPDX id, e.g. Apache-2.0',
  source: 'source:\n  uri: TODO # where the weights came from\n  kind: TODO',
  description: 'description: TODO',
  authors: 'authors:\n  - TODO',
  metrics: 'metrics:\n  TODO: 0',
  datasets: 'datasets:\n  - name: TODO\n    version: TODO',
};

/**
 * Quick fixes on policy diagnostics: add a missing field stub, sign now, or request an exception with a
 * justification and an expiry date.
 */
export class PolicyQuickFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const diag of context.diagnostics as ViolationDiagnostic[]) {
      if (diag.source !== DIAGNOSTIC_SOURCE || !diag.violation) continue;
      const v = diag.violation;
      if (v.rule === 'required-field') {
        const field = /"?([a-z_.]+)"?/.exec(v.message.split('required field ')[1] ?? '')?.[1] ?? Object.keys(FIELD_STUBS).find((k) => v.message.includes(k));
        if (field && FIELD_STUBS[field.split('.')[0]] && !new RegExp(`^${field.split('.')[0]}:`, 'm').test(document.getText())) {
          const fix = new vscode.CodeAction(`Add a "${field}" stub`, vscode.CodeActionKind.QuickFix);
          const edit = new vscode.WorkspaceEdit();
          const end = document.lineAt(document.lineCount - 1);
          edit.insert(document.uri, end.range.end, `${end.text.trim() ? '\n' : ''}${FIELD_STUBS[field.split('.')[0]]}\n`);
          fix.edit = edit;
          fix.diagnostics = [diag];
          fix.isPreferred = true;
          actions.push(fix);
        }
      }
      if ((v.rule === 'signature-required' || v.rule === 'signature-revoked') && v.model && v.version) {
        const fix = new vscode.CodeAction(`Sign ${v.model}@${v.version} now`, vscode.CodeActionKind.QuickFix);
        fix.command = { command: 'sovereign.signModel', title: 'Sign Model', arguments: [`${v.model}@${v.version}`, diag.root] };
        fix.diagnostics = [diag];
        actions.push(fix);
      }
      if (!UNWAIVABLE.has(v.rule as PolicyRule) && v.model) {
        const fix = new vscode.CodeAction(`Request an exception for "${v.rule}" on ${v.model}...`, vscode.CodeActionKind.QuickFix);
        fix.command = { command: 'sovereign.requestException', title: 'Request Exception', arguments: [v.model, v.rule, diag.root] };
        fix.diagnostics = [diag];
        actions.push(fix);
      }
    }
    return actions;
  }
}
