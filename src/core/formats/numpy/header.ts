import { dtypeItemSize } from '../pickle/joblib';

/**
 * The .npy header: magic \x93NUMPY, version, header length, then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }. numpy parses it with ast.literal_eval;
 * this is a small literal parser for the same subset (strings, ints, booleans, None, tuples, lists, dicts),
 * never an evaluator.
 */

export type Literal = string | number | boolean | null | Literal[] | { [k: string]: Literal } | LiteralTuple;
export class LiteralTuple {
  constructor(readonly items: Literal[]) {}
}

export interface NpyHeader {
  version: string;
  headerLength: number;
  dataOffset: number;
  descr: Literal;
  fortranOrder: boolean;
  shape: number[];
}

export class NpyHeaderError extends Error {}

export function parseNpyHeader(head: Buffer): NpyHeader {
  if (head.length < 10) throw new NpyHeaderError('file too short for a .npy header');
  const major = head[6];
  const minor = head[7];
  if (major < 1 || major > 3) throw new NpyHeaderError(`unsupported .npy version ${major}.${minor}`);
  const wide = major >= 2;
  const prefix = wide ? 12 : 10;
  if (head.length < prefix) throw new NpyHeaderError('file too short for a .npy header');
  const headerLength = wide ? head.readUInt32LE(8) : head.readUInt16LE(8);
  if (prefix + headerLength > head.length) throw new NpyHeaderError(`header of ${headerLength} bytes runs past the data read (${head.length - prefix} bytes)`);
  const text = head.toString(major >= 3 ? 'utf8' : 'latin1', prefix, prefix + headerLength);
  const value = parseLiteral(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof LiteralTuple) throw new NpyHeaderError('header is not a dict');
  const dict = value as Record<string, Literal>;
  const keys = Object.keys(dict).sort().join(',');
  if (keys !== 'descr,fortran_order,shape') throw new NpyHeaderError(`header keys are {${keys}}, not {descr, fortran_order, shape}`);
  const shapeValue = dict.shape;
  if (!(shapeValue instanceof LiteralTuple) || !shapeValue.items.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new NpyHeaderError('shape is not a tuple of non-negative ints');
  }
  if (typeof dict.fortran_order !== 'boolean') throw new NpyHeaderError('fortran_order is not a bool');
  return { version: `${major}.${minor}`, headerLength, dataOffset: prefix + headerLength, descr: dict.descr, fortranOrder: dict.fortran_order, shape: shapeValue.items as number[] };
}

/** True when the dtype holds Python objects (then the data is a pickle). */
export function hasObjects(descr: Literal): boolean {
  if (typeof descr === 'string') return dtypeItemSize(descr) === 'object' || /^[<>|=]?O/.test(descr);
  if (Array.isArray(descr)) return descr.some((field) => hasObjects(field instanceof LiteralTuple ? field.items[1] ?? null : field));
  if (descr instanceof LiteralTuple) return descr.items.some((x) => hasObjects(x));
  return false;
}

/** Bytes per element of a (possibly structured) descr, or undefined when unknown. */
export function itemSize(descr: Literal): number | undefined {
  if (typeof descr === 'string') {
    const n = dtypeItemSize(descr);
    return typeof n === 'number' ? n : undefined;
  }
  if (Array.isArray(descr)) {
    let total = 0;
    for (const field of descr) {
      if (!(field instanceof LiteralTuple) || field.items.length < 2) return undefined;
      const size = itemSize(field.items[1]);
      if (size === undefined) return undefined;
      const sub = field.items[2];
      const count = sub instanceof LiteralTuple ? sub.items.reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1) : 1;
      total += size * count;
    }
    return Number.isFinite(total) ? total : undefined;
  }
  return undefined;
}

export function describeDescr(descr: Literal): string {
  if (typeof descr === 'string') return descr;
  return JSON.stringify(descr, (_k, v: unknown) => (v instanceof LiteralTuple ? v.items : v));
}

/** Parses one Python literal; throws NpyHeaderError on anything else. */
export function parseLiteral(text: string): Literal {
  let i = 0;
  let depth = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (): Literal => {
    ws();
    const c = text[i];
    if (c === undefined) throw new NpyHeaderError('header ends early');
    if (c === "'" || c === '"') return str();
    if (c === '{' || c === '(' || c === '[') {
      if (++depth > 32) throw new NpyHeaderError('header nests too deep');
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: Literal[] = [];
      const dict: Record<string, Literal> = {};
      let sawComma = false;
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        const k = value();
        if (c === '{') {
          ws();
          if (text[i++] !== ':') throw new NpyHeaderError('expected ":" in header dict');
          if (typeof k !== 'string') throw new NpyHeaderError('header dict key is not a string');
          dict[k] = value();
        } else items.push(k);
        ws();
        if (text[i] === ',') {
          i++;
          sawComma = true;
        } else if (text[i] !== close) throw new NpyHeaderError(`unexpected "${text[i] ?? 'end'}" in header`);
      }
      depth--;
      if (c === '{') return dict;
      if (c === '(') return items.length === 1 && !sawComma ? items[0] : new LiteralTuple(items);
      return items;
    }
    const m = /^(True|False|None|[+-]?\d+L?)/.exec(text.slice(i, i + 40));
    if (!m) throw new NpyHeaderError(`unexpected "${text.slice(i, i + 10)}" in header`);
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace(/L$/, ''));
  };
  const str = (): string => {
    const q = text[i++];
    let out = '';
    while (i < text.length && text[i] !== q) {
      if (text[i] === '\\') i++;
      out += text[i++] ?? '';
    }
    if (text[i++] !== q) throw new NpyHeaderError('unterminated string in header');
    return out;
  };
  const v = value();
  ws();
  if (i < text.length) throw new NpyHeaderError('extra text after the header dict');
  return v;
}
