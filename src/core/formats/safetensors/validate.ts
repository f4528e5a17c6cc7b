import { type FindingCollector, quote } from '../onnx/findingCollector';
import { setOwn } from '../onnx/records';
import { dtypeBits } from './dtypes';

/** One tensor entry of the header, after its types were checked. */
export interface SafetensorsTensor {
  name: string;
  dtype: string;
  shape: number[];
  start: number;
  end: number;
  elements: bigint;
}

export interface ValidatedHeader {
  tensors: SafetensorsTensor[];
  metadata: Record<string, string>;
}

const TENSOR_FIELDS = new Set(['dtype', 'shape', 'data_offsets']);

/**
 * Checks every rule the safetensors library applies (and a few it does not): well-typed entries, known
 * dtypes, byte lengths equal to shape x dtype size (exact BigInt arithmetic), offsets contiguous from 0
 * with no gap or overlap, and data that ends exactly at the end of the file.
 */
export function validateHeader(json: Record<string, unknown>, headerLength: number, fileSize: number, findings: FindingCollector): ValidatedHeader {
  const tensors: SafetensorsTensor[] = [];
  const metadata: Record<string, string> = {};
  let rejected = 0;
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      readMetadata(value, metadata, findings);
      continue;
    }
    const tensor = readTensor(name, value, findings);
    if (tensor) tensors.push(tensor);
    else rejected++;
  }
  // With an entry already refused (a high finding), its bytes would show up as a gap: say nothing more.
  if (rejected > 0) return { tensors, metadata };

  // Contiguity, in file order. Ties sort by end so a zero-length tensor at the same start comes first.
  const ordered = [...tensors].sort((a, b) => a.start - b.start || a.end - b.end);
  let expectedStart = 0;
  for (const t of ordered) {
    if (t.start > expectedStart) {
      findings.add('safetensors/gap', 'high', `bytes ${expectedStart}..${t.start} of the data belong to no tensor (hidden content?) before ${quote(t.name)}`, quote(t.name));
    } else if (t.start < expectedStart) {
      findings.add('safetensors/overlap', 'high', `tensor ${quote(t.name)} starts at ${t.start}, inside the previous tensor (which ends at ${expectedStart})`, quote(t.name));
    }
    expectedStart = Math.max(expectedStart, t.end);
  }
  const dataBytes = fileSize - 8 - headerLength;
  if (expectedStart !== dataBytes) {
    findings.add(
      'safetensors/file-size-mismatch',
      'high',
      expectedStart < dataBytes
        ? `the tensors cover ${expectedStart} data bytes but the file has ${dataBytes}: ${dataBytes - expectedStart} trailing bytes belong to no tensor`
        : `the tensors need ${expectedStart} data bytes but the file has only ${dataBytes} (truncated?)`,
    );
  }
  return { tensors, metadata };
}

function readMetadata(value: unknown, out: Record<string, string>, findings: FindingCollector): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    findings.add('safetensors/bad-metadata', 'high', '__metadata__ must be an object of strings');
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      findings.add('safetensors/bad-metadata', 'high', `__metadata__ value for ${quote(k)} is ${jsonType(v)}; only strings are allowed`, '__metadata__');
      continue;
    }
    setOwn(out, k, v);
  }
}

function readTensor(name: string, value: unknown, findings: FindingCollector): SafetensorsTensor | undefined {
  const where = quote(name);
  const bad = (why: string): undefined => {
    findings.add('safetensors/bad-tensor-entry', 'high', `tensor ${where}: ${why}`, where);
    return undefined;
  };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad(`the entry is ${jsonType(value)}, not an object`);
  const entry = value as Record<string, unknown>;
  const extra = Object.keys(entry).filter((k) => !TENSOR_FIELDS.has(k));
  if (extra.length > 0) findings.add('safetensors/unknown-field', 'low', `tensor ${where} has fields the format does not define: ${extra.slice(0, 5).map((k) => quote(k, 40)).join(', ')}`, where);

  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') return bad(`dtype is ${jsonType(dtype)}, not a string`);
  if (!Array.isArray(shape)) return bad(`shape is ${jsonType(shape)}, not an array`);
  if (!shape.every(isCount)) return bad('shape must hold non-negative integers');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) return bad('data_offsets must be [start, end] with non-negative integers');
  const [start, end] = offsets as [number, number];
  if (end < start) return bad(`data_offsets end ${end} is before start ${start}`);

  const bits = dtypeBits(dtype);
  if (bits === undefined) {
    findings.add('safetensors/unknown-dtype', 'high', `tensor ${where} has dtype ${quote(dtype, 40)}, unknown to safetensors`, where);
    return undefined;
  }
  const elements = (shape as number[]).reduce((p, d) => p * BigInt(d), 1n);
  const totalBits = elements * BigInt(bits);
  const span = BigInt(end - start);
  if (totalBits % 8n !== 0n || totalBits / 8n !== span) {
    findings.add(
      'safetensors/tensor-size-mismatch',
      'high',
      `tensor ${where} (${dtype} [${(shape as number[]).join(', ')}]) needs ${totalBits % 8n === 0n ? `${totalBits / 8n} bytes` : `${totalBits} bits, not a whole number of bytes`}, but its data_offsets span ${span}`,
      where,
    );
  }
  return { name, dtype, shape: shape as number[], start, end, elements };
}

/** A JSON number that is an exact non-negative integer (beyond 2^53 JSON.parse rounds: refuse those). */
function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
