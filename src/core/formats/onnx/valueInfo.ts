import type { onnx } from 'onnx-proto';
import { dataTypeName } from './dataTypes';
import { toJsonNumber } from './int64';

/** A graph input or output as people and engines need it: name, element type and shape. */
export interface OnnxValueInfo {
  name: string;
  /** 'tensor', 'sparse_tensor', 'sequence', 'map', 'optional', or 'unknown'. */
  kind: string;
  /** Element type of a tensor ('float32', 'int64'...), or a description of a non-tensor type. */
  elemType: string;
  /** Dimensions: a number (dim_value), a name (dim_param, dynamic), or null (unknown); null when the rank is unknown. */
  shape: (number | string | null)[] | null;
}

export function describeValueInfo(v: onnx.IValueInfoProto): OnnxValueInfo {
  const name = v.name ?? '';
  const t = v.type;
  if (t?.tensorType) return { name, kind: 'tensor', elemType: dataTypeName(t.tensorType.elemType), shape: shapeOf(t.tensorType.shape) };
  if (t?.sparseTensorType) return { name, kind: 'sparse_tensor', elemType: dataTypeName(t.sparseTensorType.elemType), shape: shapeOf(t.sparseTensorType.shape) };
  if (t?.sequenceType) return { name, kind: 'sequence', elemType: describeType(t.sequenceType.elemType, 0), shape: null };
  if (t?.mapType) return { name, kind: 'map', elemType: describeType(t, 0), shape: null };
  if (t?.optionalType) return { name, kind: 'optional', elemType: describeType(t.optionalType.elemType, 0), shape: null };
  return { name, kind: 'unknown', elemType: 'unknown', shape: null };
}

/** `float32[N,8]`, `int64[N]`, `float32[?]` (unknown rank). */
export function formatValueInfo(v: OnnxValueInfo): string {
  if (v.kind !== 'tensor' && v.kind !== 'sparse_tensor') return `${v.name} ${v.elemType}`;
  const dims = v.shape === null ? '?' : v.shape.map((d) => (d === null ? '?' : String(d))).join(',');
  return `${v.name} ${v.elemType}[${dims}]`;
}

function shapeOf(shape: onnx.ITensorShapeProto | null | undefined): (number | string | null)[] | null {
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => {
    if (d.dimParam) return d.dimParam;
    if (d.dimValue !== null && d.dimValue !== undefined) {
      const n = toJsonNumber(d.dimValue);
      return typeof n === 'number' ? n : null;
    }
    return null;
  });
}

/** Nested types (sequence of map of tensor...) described in text; depth-bounded against hostile nesting. */
function describeType(t: onnx.ITypeProto | null | undefined, depth: number): string {
  if (!t || depth > 8) return 'unknown';
  if (t.tensorType) return `tensor(${dataTypeName(t.tensorType.elemType)})`;
  if (t.sparseTensorType) return `sparse_tensor(${dataTypeName(t.sparseTensorType.elemType)})`;
  if (t.sequenceType) return `sequence(${describeType(t.sequenceType.elemType, depth + 1)})`;
  if (t.mapType) return `map(${dataTypeName(t.mapType.keyType)},${describeType(t.mapType.valueType, depth + 1)})`;
  if (t.optionalType) return `optional(${describeType(t.optionalType.elemType, depth + 1)})`;
  return 'unknown';
}
