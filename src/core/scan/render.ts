import { isBlocking, SEVERITIES, worstSeverity, type Severity } from '../formats/findings';
import type { FileReport, ScanReport } from './scanner';

/** One line per file with a clear verdict; the findings below it when `verbose` or when it is blocked. */
export function renderScanText(report: ScanReport, verbose = false): string {
  const lines: string[] = [];
  for (const file of report.files) {
    lines.push(verdictLine(file));
    const blocked = file.findings.some((f) => isBlocking(f.severity));
    if (verbose || blocked) {
      for (const f of file.findings) {
        if (!verbose && !isBlocking(f.severity)) continue;
        lines.push(`    ${f.severity.padEnd(8)} ${f.rule}: ${f.message}${f.location ? ` [${f.location}]` : ''}`);
      }
    }
  }
  const blocked = report.files.filter((f) => f.findings.some((x) => isBlocking(x.severity))).length;
  lines.push(`${report.files.length} file(s) scanned, ${blocked} blocked${blocked ? '' : ': nothing high or critical'}`);
  return lines.join('\n') + '\n';
}

function verdictLine(file: FileReport): string {
  const worst = worstSeverity(file.findings);
  const verdict = worst && isBlocking(worst) ? 'BLOCKED' : worst && worst !== 'info' ? 'WARN' : 'OK';
  const counts = countBySeverity(file.findings.map((f) => f.severity));
  return `${verdict.padEnd(8)} ${file.path}  (${file.format}${counts ? `; ${counts}` : ''})`;
}

function countBySeverity(severities: Severity[]): string {
  return [...SEVERITIES]
    .reverse()
    .map((s) => [s, severities.filter((x) => x === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}
