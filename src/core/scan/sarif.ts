import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Sarif from 'sarif';
import type { Finding, Severity } from '../formats/findings';
import type { ScanReport } from './scanner';

/** SARIF levels GitHub code scanning understands. */
function level(s: Severity): 'error' | 'warning' | 'note' {
  return s === 'critical' || s === 'high' ? 'error' : s === 'medium' ? 'warning' : 'note';
}

/** GitHub ranks security alerts by `security-severity` (0-10). */
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '1.0' };

export interface SarifOptions {
  toolVersion: string;
  /** Paths are written relative to this folder (the repository root) when inside it. */
  baseDir: string;
}

/** A minimal SARIF 2.1.0 log that GitHub code scanning accepts, one result per finding. */
export function toSarif(report: ScanReport, options: SarifOptions): Sarif.Log {
  const rules = new Map<string, { finding: Finding; worst: Severity }>();
  const results: Sarif.Result[] = [];
  for (const file of report.files) {
    for (const f of file.findings) {
      const known = rules.get(f.rule);
      if (!known) rules.set(f.rule, { finding: f, worst: f.severity });
      const uri = artifactUri(file.path, options.baseDir);
      results.push({
        ruleId: f.rule,
        level: level(f.severity),
        message: { text: f.location ? `${f.message} (at ${f.location})` : f.message },
        locations: [{ physicalLocation: { artifactLocation: uri, region: { startLine: 1 } } }],
        partialFingerprints: { primaryLocationLineHash: `${f.rule}:${file.sha256 || file.path}:${f.location ?? ''}` },
        properties: { severity: f.severity, sha256: file.sha256, format: file.format },
      });
    }
  }
  const ruleIds = [...rules.keys()].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'sovereign-scan',
            semanticVersion: options.toolVersion,
            informationUri: 'https://github.com/sovereign-workbench/sovereign-workbench',
            rules: ruleIds.map((id) => {
              const { finding, worst } = rules.get(id)!;
              return {
                id,
                name: id.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')),
                shortDescription: { text: id },
                fullDescription: { text: finding.message },
                ...(finding.help ? { help: { text: finding.help } } : {}),
                ...(finding.helpUri ? { helpUri: finding.helpUri } : {}),
                defaultConfiguration: { level: level(worst) },
                properties: { tags: ['security', 'supply-chain'], 'security-severity': SECURITY_SEVERITY[worst] },
              };
            }),
          },
        },
        originalUriBaseIds: { SRCROOT: { uri: pathToFileURL(options.baseDir + sep).href } },
        results,
      },
    ],
  };
}

function artifactUri(path: string, baseDir: string): Sarif.ArtifactLocation {
  const rel = isAbsolute(path) ? relative(baseDir, path) : path;
  if (rel.startsWith('..') || isAbsolute(rel)) return { uri: pathToFileURL(path).href };
  return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: 'SRCROOT' };
}
