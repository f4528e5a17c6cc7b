import { onnx } from 'onnx-proto';
import type { Finding } from '../findings';
import type { ByteSource } from '../source';
import { FindingCollector } from './findingCollector';
import { MAX_ONNX_PROTO_BYTES } from './limits';
import { checkModelWire } from './wireCheck';

export interface ReadOnnxResult {
  /** The decoded model, absent when the file was refused or is malformed (see findings). */
  model?: onnx.ModelProto;
  findings: Finding[];
}

/**
 * Reads and decodes an ONNX ModelProto with the maintained schema package (onnx-proto / protobufjs),
 * after a size bound and a wire-structure check (wireCheck.ts). Never throws for bad content: a file that cannot be
 * decoded is a `high` finding (fail closed).
 */
export async function readOnnxModel(source: ByteSource): Promise<ReadOnnxResult> {
  const findings = new FindingCollector(source.path);
  const model = await decodeSource(source, findings);
  return { model, findings: findings.toArray() };
}

/** As readOnnxModel, adding findings to an existing collector. */
export async function decodeSource(source: ByteSource, findings: FindingCollector): Promise<onnx.ModelProto | undefined> {
  if (source.size > MAX_ONNX_PROTO_BYTES) {
    findings.add(
      'onnx/too-large',
      'high',
      `the model is ${source.size.toLocaleString('en-US')} bytes; a protobuf cannot exceed 2 GiB, so this is not a valid ONNX file (large weights belong in external data)`,
    );
    return undefined;
  }
  const bytes = await source.readAt(0, source.size);
  if (bytes.length !== source.size) {
    findings.add('onnx/malformed', 'high', `could read only ${bytes.length} of ${source.size} bytes`);
    return undefined;
  }
  return decodeModelBytes(bytes, findings);
}

/** Decodes ModelProto bytes already in memory. */
export function decodeModelBytes(bytes: Uint8Array, findings: FindingCollector): onnx.ModelProto | undefined {
  const wire = checkModelWire(bytes);
  if (wire.error) {
    findings.add(wire.rule ?? 'onnx/malformed', 'high', `not a well-formed ONNX protobuf: ${wire.error}`);
    return undefined;
  }
  if (wire.unknownFields.length > 0) {
    findings.add('onnx/unknown-field', 'low', `fields unknown to the ONNX 1.10 schema this reader decodes (newer ONNX, or data hidden from readers): ${wire.unknownFields.join(', ')}`);
  }
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    // protobufjs throws RangeError for truncation, and deep nesting ends in a stack overflow RangeError.
    const why = err instanceof Error ? err.message : String(err);
    findings.add('onnx/malformed', 'high', `the protobuf could not be decoded: ${why}`);
    return undefined;
  }
}
