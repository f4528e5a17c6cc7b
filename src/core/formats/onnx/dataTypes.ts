/**
 * ONNX TensorProto.DataType values (onnx.proto; onnx-proto 8.0.1 stops at BFLOAT16, newer files carry the
 * later values as plain numbers): a readable name and the bit width of one element (0 = variable, strings).
 */
const DATA_TYPES: ReadonlyMap<number, { name: string; bits: number }> = new Map([
  [1, { name: 'float32', bits: 32 }],
  [2, { name: 'uint8', bits: 8 }],
  [3, { name: 'int8', bits: 8 }],
  [4, { name: 'uint16', bits: 16 }],
  [5, { name: 'int16', bits: 16 }],
  [6, { name: 'int32', bits: 32 }],
  [7, { name: 'int64', bits: 64 }],
  [8, { name: 'string', bits: 0 }],
  [9, { name: 'bool', bits: 8 }],
  [10, { name: 'float16', bits: 16 }],
  [11, { name: 'float64', bits: 64 }],
  [12, { name: 'uint32', bits: 32 }],
  [13, { name: 'uint64', bits: 64 }],
  [14, { name: 'complex64', bits: 64 }],
  [15, { name: 'complex128', bits: 128 }],
  [16, { name: 'bfloat16', bits: 16 }],
  [17, { name: 'float8e4m3fn', bits: 8 }],
  [18, { name: 'float8e4m3fnuz', bits: 8 }],
  [19, { name: 'float8e5m2', bits: 8 }],
  [20, { name: 'float8e5m2fnuz', bits: 8 }],
  [21, { name: 'uint4', bits: 4 }],
  [22, { name: 'int4', bits: 4 }],
  [23, { name: 'float4e2m1', bits: 4 }],
]);

/** A readable element type name; unknown values read as `type<N>`. */
export function dataTypeName(type: number | null | undefined): string {
  if (type === null || type === undefined || type === 0) return 'undefined';
  return DATA_TYPES.get(type)?.name ?? `type${type}`;
}

export function isKnownDataType(type: number | null | undefined): boolean {
  return type !== null && type !== undefined && DATA_TYPES.has(type);
}

/**
 * Bytes that `elements` values of `type` occupy when stored packed (raw_data or external data), or
 * undefined when the size is not fixed (strings) or the type is unknown. Sub-byte types round up.
 */
export function tensorByteSize(type: number | null | undefined, elements: bigint): bigint | undefined {
  const bits = type === null || type === undefined ? undefined : DATA_TYPES.get(type)?.bits;
  if (!bits) return undefined;
  return (elements * BigInt(bits) + 7n) / 8n;
}
