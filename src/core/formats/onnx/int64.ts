/** protobufjs gives int64 fields as numbers or Long objects; these turn them into exact values. */
export type Int64Like = number | { toString(): string } | null | undefined;

export function toBigInt(v: Int64Like): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : 0n;
  try {
    return BigInt(v.toString());
  } catch {
    return 0n;
  }
}

/** A JSON-safe number when it is exactly representable, else its decimal text. */
export function toJsonNumber(v: Int64Like | bigint): number | string {
  const b = typeof v === 'bigint' ? v : toBigInt(v);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(b) : b.toString();
}
