import type { ByteSource } from '../source';
import type { FindingCollector } from '../onnx/findingCollector';
import { findDuplicateKeys } from './duplicateKeys';

/** The safetensors crate refuses headers over 100 MB (MAX_HEADER_SIZE): so does this reader. */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

export interface SafetensorsHeader {
  /** The header length from the first 8 bytes. */
  headerLength: number;
  /** The parsed JSON object. */
  json: Record<string, unknown>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the 8-byte little-endian length and the JSON header, and nothing else: the cost depends on the
 * header, never on the size of the tensor data. Every problem is a `high` finding (fail closed).
 */
export async function readSafetensorsHeader(source: ByteSource, findings: FindingCollector): Promise<SafetensorsHeader | undefined> {
  if (source.size < 8) {
    findings.add('safetensors/malformed', 'high', `the file has ${source.size} bytes; a safetensors file starts with an 8-byte header length`);
    return undefined;
  }
  const prefix = await source.readAt(0, 8);
  const n = prefix.readBigUInt64LE(0);
  if (n > BigInt(MAX_SAFETENSORS_HEADER)) {
    findings.add('safetensors/header-too-large', 'high', `the header claims ${n} bytes; the limit is ${MAX_SAFETENSORS_HEADER.toLocaleString('en-US')} (as in the safetensors library)`);
    return undefined;
  }
  const headerLength = Number(n);
  if (headerLength > source.size - 8) {
    findings.add('safetensors/header-out-of-bounds', 'high', `the header claims ${headerLength} bytes but only ${source.size - 8} follow the length`);
    return undefined;
  }
  const raw = await source.readAt(8, headerLength);
  if (raw.length !== headerLength) {
    findings.add('safetensors/malformed', 'high', `could read only ${raw.length} of the ${headerLength} header bytes`);
    return undefined;
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    findings.add('safetensors/invalid-utf8', 'high', 'the header is not valid UTF-8');
    return undefined;
  }
  if (!text.startsWith('{')) {
    findings.add('safetensors/malformed', 'high', "the header does not start with '{' (the safetensors library refuses it)");
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    findings.add('safetensors/invalid-json', 'high', `the header is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    findings.add('safetensors/malformed', 'high', 'the header is not a JSON object');
    return undefined;
  }
  for (const dup of findDuplicateKeys(text)) {
    findings.add('safetensors/duplicate-key', 'high', `key ${JSON.stringify(dup.key.slice(0, 120))} appears more than once in ${dup.path}: readers disagree on which copy counts`);
  }
  return { headerLength, json: json as Record<string, unknown> };
}
