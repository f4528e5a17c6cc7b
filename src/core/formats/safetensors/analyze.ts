import type { Finding } from '../findings';
import { FindingCollector } from '../onnx/findingCollector';
import { setOwn } from '../onnx/records';
import { FileSource, type ByteSource } from '../source';
import type { AnalyzeOptions, Analyzer, FormatAnalysis } from '../types';
import { readSafetensorsHeader } from './header';
import { validateHeader } from './validate';

/** What the safetensors reader reports (JSON-serialisable; `summary` is the headline for people). */
export type SafetensorsFacts = {
  headerBytes: number;
  tensorCount: number;
  /** Tensor count per dtype. */
  dtypes: Record<string, number>;
  /** Total elements of all tensors (a string when beyond 2^53). */
  parameterCount: number | string;
  dataBytes: number;
  metadata: Record<string, string>;
  /** The first tensors in file order (name, dtype, shape); the rest are counted in tensorCount. */
  tensors: { name: string; dtype: string; shape: number[] }[];
  summary: Record<string, string | number>;
};

const MAX_LISTED_TENSORS = 64;
const MAX_METADATA = 64;
const MAX_METADATA_VALUE = 1000;

/**
 * The safetensors analyzer: reads only the 8-byte length and the JSON header (bounded at 100 MB), never
 * the tensor data, so it takes the same time for a 1 MB and a 100 GB file with the same header.
 */
export const analyzeSafetensors: Analyzer = async (source: ByteSource, options: AnalyzeOptions): Promise<FormatAnalysis> => {
  const findings = new FindingCollector(source.path);
  options.signal?.throwIfAborted();
  const header = await readSafetensorsHeader(source, findings);
  if (!header) return { format: 'safetensors', facts: { summary: { status: 'not readable (see findings)' } }, findings: findings.toArray() };
  options.signal?.throwIfAborted();
  const { tensors, metadata } = validateHeader(header.json, header.headerLength, source.size, findings);

  const dtypes: Record<string, number> = {};
  let parameters = 0n;
  for (const t of tensors) {
    setOwn(dtypes, t.dtype, (dtypes[t.dtype] ?? 0) + 1);
    parameters += t.elements;
  }
  const listed = [...tensors].sort((a, b) => a.start - b.start || a.end - b.end).slice(0, MAX_LISTED_TENSORS);
  const facts: SafetensorsFacts = {
    headerBytes: header.headerLength,
    tensorCount: tensors.length,
    dtypes,
    parameterCount: parameters <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(parameters) : parameters.toString(),
    dataBytes: source.size - 8 - header.headerLength,
    metadata: clipMetadata(metadata),
    tensors: listed.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })),
    summary: {},
  };
  facts.summary = {
    tensors: facts.tensorCount,
    parameters: formatCount(parameters),
    dtypes: Object.entries(dtypes).sort((a, b) => b[1] - a[1]).map(([d, n]) => `${d} ${n}`).join(', ') || 'none',
    header: `${header.headerLength.toLocaleString('en-US')} bytes`,
    metadata: Object.keys(metadata).length === 0 ? 'none' : Object.entries(facts.metadata).slice(0, 4).map(([k, v]) => `${k}=${v.length > 40 ? `${v.slice(0, 40)}…` : v}`).join(', '),
  };
  // __metadata__ values decoded from their JSON escapes ("\u0062ash" is "bash" to whoever reads it).
  const texts = options.rules ? Object.entries(metadata).map(([key, value]) => ({ key: `__metadata__.${key}`, value })) : undefined;
  return { format: 'safetensors', facts, findings: findings.toArray(), ...(texts ? { texts } : {}) };
};

export interface SafetensorsInspection {
  /** Undefined when the header could not be read (the findings say why). */
  facts?: SafetensorsFacts;
  findings: Finding[];
}

/** Checks a safetensors file on disk; refuse it when any finding is blocking (high or critical). */
export async function inspectSafetensors(path: string, options: AnalyzeOptions = {}): Promise<SafetensorsInspection> {
  const source = await FileSource.open(path);
  try {
    const analysis = await analyzeSafetensors(source, options);
    const facts = analysis.facts as Partial<SafetensorsFacts>;
    return { facts: facts.tensorCount === undefined ? undefined : (analysis.facts as SafetensorsFacts), findings: analysis.findings };
  } finally {
    await source.close();
  }
}

function clipMetadata(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata).slice(0, MAX_METADATA)) setOwn(out, k, v.length > MAX_METADATA_VALUE ? `${v.slice(0, MAX_METADATA_VALUE)}…` : v);
  return out;
}

/** 1234567 -> "1.23 M (1,234,567)". */
function formatCount(n: bigint): string {
  const units: [bigint, string][] = [[10n ** 12n, 'T'], [10n ** 9n, 'B'], [10n ** 6n, 'M'], [10n ** 3n, 'K']];
  for (const [scale, unit] of units) {
    if (n >= scale) return `${(Number((n * 100n) / scale) / 100).toFixed(2)} ${unit} (${n.toLocaleString('en-US')})`;
  }
  return n.toString();
}
