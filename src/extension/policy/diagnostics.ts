import * as vscode from 'vscode';
import { join } from 'node:path';
import type { PolicyViolation } from '../../core/policy/evaluate';
import type { RegistrySnapshot } from '../../core/worker/registry-methods';
import type { RegistryState } from '../registry/registry-state';

export const DIAGNOSTIC_SOURCE = 'sovereign-policy';

/** Data a quick fix needs, kept on the diagnostic (VS Code carries it to the code action provider). */
export interface ViolationDiagnostic extends vscode.Diagnostic {
  violation?: PolicyViolation;
  /** The registry (workspace root) whose policy the violation is against. */
  root?: string;
}

/**
 * Every policy violation and manifest problem as a diagnostic at its file and line, refreshed with the
 * registry snapshots (on save and on registry changes). Each registry of a multi-root window is checked
 * against its own policy: its diagnostics are on its own files.
 */
export class PolicyDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('sovereign');
  private readonly sub: vscode.Disposable;

  constructor(state: RegistryState) {
    this.sub = state.onDidChange(() => this.update(state.all.map((r) => r.snapshot)));
  }

  update(snapshots: readonly RegistrySnapshot[]): void {
    this.collection.clear();
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const snap of snapshots) this.collect(snap, byFile);
    for (const [file, diags] of byFile) this.collection.set(vscode.Uri.file(file), diags);
  }

  private collect(snap: RegistrySnapshot, byFile: Map<string, vscode.Diagnostic[]>): void {
    const add = (file: string, d: vscode.Diagnostic): void => {
      const abs = file.startsWith('/') ? file : join(snap.root, file);
      byFile.set(abs, [...(byFile.get(abs) ?? []), d]);
    };
    for (const v of snap.violations) {
      const d: ViolationDiagnostic = new vscode.Diagnostic(lineRange(v.line, v.column), `${v.message}\nFix: ${v.fix}`, v.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = DIAGNOSTIC_SOURCE;
      d.code = v.rule;
      d.violation = v;
      d.root = snap.root;
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
