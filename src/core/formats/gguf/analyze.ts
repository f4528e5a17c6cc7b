import { isBlocking, worstSeverity, type Finding } from '../findings';
import { RefusedError } from '../../util/errors';
import { FileSource, type ByteSource } from '../source';
import type { Analyzer, MetadataText } from '../types';
import { ggufFacts, ggufSummary, type GgufFacts } from './facts';
import { isGgufArray, type GgufHeader } from './header';
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
  return { format: 'gguf', facts: { ...facts, summary: ggufSummary(result.facts) }, findings, ...(options.rules ? { texts: ggufTexts(result.header) } : {}) };
};

/** Token lists are vocabulary, not text for people: the byte scan sees them, the metadata rules do not. */
const VOCABULARY_KEYS: ReadonlySet<string> = new Set(['tokenizer.ggml.tokens', 'tokenizer.ggml.merges']);

/**
 * Every string KV of a GGUF (chat templates included; `tokenizer.chat_template.<name>` too), and the
 * string items its reader kept of string arrays, for the rule stage.
 */
export function ggufTexts(header: GgufHeader): MetadataText[] {
  const texts: MetadataText[] = [];
  for (const kv of header.metadata.values()) {
    if (typeof kv.value === 'string') texts.push({ key: kv.key, value: kv.value });
    else if (isGgufArray(kv.value) && !VOCABULARY_KEYS.has(kv.key)) {
      kv.value.items.forEach((item, i) => {
        if (typeof item === 'string') texts.push({ key: `${kv.key}[${i}]`, value: item });
      });
    }
  }
  return texts;
}
