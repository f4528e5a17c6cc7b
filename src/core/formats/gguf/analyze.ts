import { isBlocking, worstSeverity, type Finding } from '../findings';
import { RefusedError } from '../../util/errors';
import { FileSource, type ByteSource } from '../source';
import type { Analyzer } from '../types';
import { ggufFacts, ggufSummary, type GgufFacts } from './facts';
import type { GgufHeader } from './header';
import { readGgufHeader, type GgufReadOptions } from './reader';
import { validateGguf } from './validate';

export interface GgufInspection {
  facts: GgufFacts;
  findings: Finding[];
  header: GgufHeader;
  /** No high or critical finding: the file may be handed to llama.cpp (in a supervised process). */
  loadable: boolean;
}

/** Reads and validates a GGUF source: structural findings from the reader plus the validator's. */
export async function inspectGgufSource(source: ByteSource, options: GgufReadOptions = {}): Promise<GgufInspection> {
  const { header, findings } = await readGgufHeader(source, options);
  const all = [...findings, ...validateGguf(header, source.size)];
  return { facts: ggufFacts(header), findings: all, header, loadable: !all.some((f) => isBlocking(f.severity)) };
}

/** `inspectGgufSource` on a file path. I/O errors throw IoError. */
export async function inspectGguf(path: string, options: GgufReadOptions = {}): Promise<GgufInspection> {
  const source = await FileSource.open(path);
  try {
    return await inspectGgufSource(source, options);
  } finally {
    await source.close();
  }
}

/**
 * The gate before llama.cpp: returns the facts of a loadable GGUF, or throws RefusedError naming the
 * worst findings. llama.cpp aborts the whole process on some malformed files, so call this first.
 */
export async function assertGgufLoadable(path: string, options: GgufReadOptions = {}): Promise<GgufFacts> {
  const result = await inspectGguf(path, options);
  if (result.loadable) return result.facts;
  const blocking = result.findings.filter((f) => isBlocking(f.severity));
  const shown = blocking.slice(0, 3).map((f) => `${f.severity} ${f.rule}: ${f.message}`).join('; ');
  throw new RefusedError(
    `${path} is not a GGUF file llama.cpp can load safely (${blocking.length} ${worstSeverity(blocking)} finding(s)): ${shown}`,
    `run \`sovereign scan ${path}\` for every finding; re-export or re-download the model`,
  );
}

/** The format analyzer (scanner, `inspect`): facts with a `summary`, and every finding. */
export const analyzeGguf: Analyzer = async (source, options) => {
  const result = await inspectGgufSource(source, { signal: options.signal });
  const findings = result.findings.map((f) => ({ ...f, location: f.location ? `${source.path}: ${f.location}` : source.path }));
  // Absent facts are left out (as JSON would), not shown as "undefined" in text output.
  const facts = Object.fromEntries(Object.entries(result.facts).filter(([, v]) => v !== undefined));
  return { format: 'gguf', facts: { ...facts, summary: ggufSummary(result.facts) }, findings };
};
