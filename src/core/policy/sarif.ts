import { sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Sarif from 'sarif';
import type { PolicyReport } from './evaluate';

/** SARIF 2.1.0 for `policy check --format sarif`: one result per violation, at its manifest line. */
export function policySarif(report: PolicyReport, options: { toolVersion: string; baseDir: string }): Sarif.Log {
  const rules = [...new Set(report.violations.map((v) => v.rule))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'sovereign-policy',
            semanticVersion: options.toolVersion,
            informationUri: 'https://github.com/sovereign-workbench/sovereign-workbench',
            rules: rules.map((id) => ({ id, name: id.replace(/-(.)/g, (_m, c: string) => c.toUpperCase()), shortDescription: { text: `policy rule ${id}` }, defaultConfiguration: { level: 'error' } })),
          },
        },
        originalUriBaseIds: { SRCROOT: { uri: pathToFileURL(options.baseDir + sep).href } },
        results: report.violations.map((v) => ({
          ruleId: v.rule,
          level: v.severity === 'error' ? 'error' : 'warning',
          message: { text: `${v.message}; ${v.fix}` },
          locations: [{ physicalLocation: { artifactLocation: { uri: v.file, uriBaseId: 'SRCROOT' }, region: { startLine: v.line, startColumn: v.column ?? 1 } } }],
          properties: { model: v.model, version: v.version },
        })),
      },
    ],
  };
}
