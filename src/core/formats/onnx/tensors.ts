import type { onnx } from 'onnx-proto';
import { dataTypeName, isKnownDataType, tensorByteSize } from './dataTypes';
import { type FindingCollector, quote } from './findingCollector';
import { toBigInt } from './int64';
import type { TensorKind, WalkContext } from './walk';

/** ONNX TensorProto.DataLocation.EXTERNAL */
export const DATA_LOCATION_EXTERNAL = 1;

export interface TensorInfo {
  name: string;
  dataType: string;
  /** Element count (product of dims), undefined when a dim is negative. */
  elements?: bigint;
  /** Bytes the packed data must have, when the type has a fixed size. */
  expectedBytes?: bigint;
  /** Bytes stored inline in the .onnx file. */
  inlineBytes: number;
  external: boolean;
}

/**
 * Checks one tensor's declared shape and type against its inline data. External data is checked
 * separately (it needs the file system).
 */
export function inspectTensor(t: onnx.ITensorProto, kind: TensorKind, ctx: WalkContext, findings: FindingCollector): TensorInfo {
  const name = t.name ?? '';
  const where = `${ctx.where}: ${kind} ${quote(name)}`;
  let elements: bigint | undefined = 1n;
  for (const d of t.dims ?? []) {
    const dim = toBigInt(d);
    if (dim < 0n) {
      findings.add('onnx/malformed', 'high', `tensor ${quote(name)} has a negative dimension (${dim})`, where);
      elements = undefined;
      break;
    }
    elements *= dim;
  }
  if (!isKnownDataType(t.dataType)) {
    findings.add('onnx/unknown-data-type', 'medium', `tensor ${quote(name)} has data type ${t.dataType ?? 0}, unknown to this reader`, where);
  }
  const expectedBytes = elements === undefined ? undefined : tensorByteSize(t.dataType, elements);
  const raw = t.rawData?.length ?? 0;
  const external = t.dataLocation === DATA_LOCATION_EXTERNAL;
  if (raw > 0 && expectedBytes !== undefined && BigInt(raw) !== expectedBytes) {
    findings.add(
      'onnx/tensor-size-mismatch',
      'high',
      `tensor ${quote(name)} (${dataTypeName(t.dataType)}, ${elements} elements) needs ${expectedBytes} bytes but raw_data holds ${raw}`,
      where,
    );
  }
  if (external && raw > 0) {
    findings.add('onnx/external-data-ambiguous', 'medium', `tensor ${quote(name)} is marked EXTERNAL but also carries ${raw} bytes of raw_data: readers disagree on which one counts`, where);
  }
  return { name, dataType: dataTypeName(t.dataType), elements, expectedBytes, inlineBytes: raw + typedDataBytes(t), external };
}

/** Bytes held in the typed repeated fields (float_data, int64_data...) rather than raw_data. */
function typedDataBytes(t: onnx.ITensorProto): number {
  return (
    (t.floatData?.length ?? 0) * 4 +
    (t.int32Data?.length ?? 0) * 4 +
    (t.int64Data?.length ?? 0) * 8 +
    (t.doubleData?.length ?? 0) * 8 +
    (t.uint64Data?.length ?? 0) * 8 +
    (t.stringData ?? []).reduce((sum, s) => sum + (s?.length ?? 0), 0)
  );
}
