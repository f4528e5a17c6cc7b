import { dictGet, isDict, isGlobal, isObject, isSequence, type Value } from './values';

/**
 * joblib.dump replaces each numpy array by a NumpyArrayWrapper and writes the array bytes straight after
 * the wrapper's BUILD opcode, outside the pickle opcodes (joblib/numpy_pickle.py write_array/read_array):
 *   [1 byte padding length][padding] array bytes          (numpy_array_alignment_bytes set, joblib >= 1.2)
 *   array bytes                                             (older joblib)
 *   a whole protocol 2 pickle of the array                  (object dtypes)
 * The walker must skip exactly those bytes, or joblib files would look like parse errors.
 */

export const JOBLIB_WRAPPERS = new Set([
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
  'joblib.numpy_pickle_compat.NDArrayWrapper',
  'joblib.numpy_pickle.NDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper',
]);

export interface JoblibArrayLayout {
  objectArray: boolean;
  /** Array bytes (count * itemsize) when not an object array. */
  bytes: number;
  /** A padding-length byte (and padding) comes first. */
  aligned: boolean;
}

/** Reads the wrapper's BUILD state ({shape, dtype, order, numpy_array_alignment_bytes...}); a string says why not. */
export function joblibArrayLayout(state: Value): JoblibArrayLayout | string {
  if (!isDict(state)) return 'state is not a dict';
  const shape = dictGet(state, 'shape');
  if (!isSequence(shape) || shape.dropped > 0) return 'shape is not a tuple';
  let count = 1;
  for (const d of shape.items) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return 'shape has a dimension that is not a non-negative int';
    count *= d;
  }
  const dtype = describeDtype(dictGet(state, 'dtype'));
  if (typeof dtype === 'string') return dtype;
  const align = dictGet(state, 'numpy_array_alignment_bytes');
  if (dtype.object) return { objectArray: true, bytes: 0, aligned: false };
  const bytes = count * dtype.itemsize;
  if (!Number.isSafeInteger(bytes)) return 'array size overflows';
  return { objectArray: false, bytes, aligned: typeof align === 'number' };
}

/** numpy pickles a dtype as numpy.dtype('f8', False, True) then BUILD (3, '<', None, names, fields, elsize, alignment, flags). */
function describeDtype(v: Value | undefined): { itemsize: number; object: boolean } | string {
  if (v === undefined || !isObject(v) || !isGlobal(v.callee) || !/^numpy(\.dtypes\.\w+|\.dtype)$/.test(v.callee.path)) return 'dtype is not a numpy.dtype';
  const args = v.args;
  const descr = isSequence(args) ? args.items[0] : undefined;
  if (typeof descr !== 'string') return 'dtype descriptor is not a string';
  const state = v.state;
  const items = isSequence(state) ? state.items : [];
  const elsize = items[5];
  const flags = items[7];
  const parsed = dtypeItemSize(descr);
  const object = parsed === 'object' || (typeof flags === 'number' && (flags & 1) === 1);
  if (object) return { itemsize: 8, object: true };
  const itemsize = typeof elsize === 'number' && elsize > 0 ? elsize : parsed;
  if (typeof itemsize !== 'number') return `dtype '${descr}' has no known item size`;
  return { itemsize, object: false };
}

/**
 * Item size of a numpy type string ('<f8', 'i4', '|b1', 'U10', 'S5', 'V16', 'M8[ns]'), 'object' for 'O',
 * or undefined. Shared with the .npy reader.
 */
export function dtypeItemSize(descr: string): number | 'object' | undefined {
  const m = /^[<>|=]?([?bBhHiIlLqQpPeEfdgFDGSaUVOMmuic])(\d*)(\[\w+\])?$/.exec(descr.trim());
  if (!m) return undefined;
  const [, kind, digits] = m;
  const n = digits === '' ? undefined : Number(digits);
  const fixed: Record<string, number> = { '?': 1, b: 1, B: 1, h: 2, H: 2, l: 8, L: 8, q: 8, Q: 8, p: 8, P: 8, e: 2, d: 8, g: 16, F: 8, D: 16, G: 32, M: 8, m: 8 };
  if (kind === 'O') return 'object';
  if (kind === 'U') return n === undefined ? undefined : 4 * n;
  if (kind === 'S' || kind === 'a' || kind === 'V') return n;
  if (n !== undefined) return n;
  if (kind === 'i' || kind === 'I') return 4;
  if (kind === 'f') return 4;
  return fixed[kind];
}
