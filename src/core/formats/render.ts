import type { FormatAnalysis } from './types';

/**
 * Text for people from an analysis. Analyzers put the headline facts in `facts.summary` (a flat
 * record); everything else is shown as counts so a 300-tensor model stays readable.
 */
export function renderFacts(path: string, size: number, analysis: FormatAnalysis): string {
  const lines = [`${path}`, `  format: ${analysis.format}`, `  size: ${formatBytes(size)}`];
  const summary = analysis.facts.summary;
  if (summary && typeof summary === 'object') {
    for (const [k, v] of Object.entries(summary as Record<string, unknown>)) lines.push(`  ${k}: ${formatValue(v)}`);
  }
  for (const [k, v] of Object.entries(analysis.facts)) {
    if (k === 'summary') continue;
    if (Array.isArray(v)) lines.push(`  ${k}: ${v.length} item(s)`);
    else if (v === null || typeof v !== 'object') lines.push(`  ${k}: ${formatValue(v)}`);
  }
  if (analysis.format === 'unknown') lines.push('  not a recognised model format (GGUF, ONNX, safetensors, pickle/PyTorch, NumPy, Keras, joblib)');
  for (const f of analysis.findings) lines.push(`  ${f.severity.toUpperCase()} ${f.rule}: ${f.message}${f.location ? ` [${f.location}]` : ''}`);
  return lines.join('\n') + '\n';
}

function formatValue(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 10000) return v.toLocaleString('en-US');
  if (Array.isArray(v)) return v.map(formatValue).join(', ');
  if (v && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]} (${n.toLocaleString('en-US')} bytes)`;
}
