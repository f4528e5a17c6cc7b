import * as vscode from 'vscode';
import { join } from 'node:path';
import type { PolicyViolation } from '../../core/policy/evaluate';
import type { RegistrySnapshot } from '../../core/worker/registry-methods';
import type { RegistryState } from '../registry/registry-state';

export const DIAGNOSTIC_SOURCE = 'sovereign-policy';

/** Data a quick fix needs, kept on the diagnostic (VS Code carries it to the code action provider). */
export interface ViolationDiagnostic extends vscode.Diagnostic {
  violation?: PolicyViolation;
}

/**
 * Every policy violation and manifest problem as a diagnostic at its file and line, refreshed with the
 * registry snapshot (on save and on registry changes).
 */
export class PolicyDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('sovereign');
  private readonly sub: vscode.Disposable;

  constructor(state: RegistryState) {
    this.sub = state.onDidChange((snap) => this.update(snap));
  }

  update(snap: RegistrySnapshot | undefined): void {
    this.collection.clear();
    if (!snap) return;
    const byFile = new Map<string, vscode.Diagnostic[]>();
    const add = (file: string, d: vscode.Diagnostic): void => {
      const abs = file.startsWith('/') ? file : join(snap.root, file);
      byFile.set(abs, [...(byFile.get(abs) ?? []), d]);
    };
    for (const v of snap.violations) {
      const d: ViolationDiagnostic = new vscode.Diagnostic(lineRange(v.line, v.column), `${v.message}\nFix: ${v.fix}`, v.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = DIAGNOSTIC_SOURCE;
      d.code = v.rule;
      d.violation = v;
      add(v.file, d);
    }
    for (const w of snap.waived) {
      const v = w.violation;
      const d = new vscode.Diagnostic(lineRange(v.line, v.column), `${v.message} (waived until ${w.exception.expires}: ${w.exception.justification})`, vscode.DiagnosticSeverity.Information);
      d.source = DIAGNOSTIC_SOURCE;
      d.code = v.rule;
      add(v.file, d);
    }
    for (const p of snap.problems) {
      const d = new vscode.Diagnostic(lineRange(p.line, p.column), p.fix ? `${p.message}\nFix: ${p.fix}` : p.message, vscode.DiagnosticSeverity.Error);
      d.source = DIAGNOSTIC_SOURCE;
      d.code = 'manifest-invalid';
      add(p.file, d);
    }
    if (snap.policyError) {
      const m = /:(\d+):(\d+):/.exec(snap.policyError);
      const d = new vscode.Diagnostic(lineRange(m ? Number(m[1]) : 1, m ? Number(m[2]) : undefined), snap.policyError, vscode.DiagnosticSeverity.Error);
      d.source = DIAGNOSTIC_SOURCE;
      d.code = 'policy-invalid';
      add(snap.policyFile, d);
    }
    for (const [file, diags] of byFile) this.collection.set(vscode.Uri.file(file), diags);
  }

  dispose(): void {
    this.sub.dispose();
    this.collection.dispose();
  }
}

/** 1-based line/column from the core to a whole-line (or from-column) range. */
function lineRange(line: number, column?: number): vscode.Range {
  const l = Math.max(0, line - 1);
  return new vscode.Range(l, Math.max(0, (column ?? 1) - 1), l, Number.MAX_SAFE_INTEGER);
}
