/**
 * The walker's model of what the unpickler would hold on its stack and in its memo. Only what judgement
 * needs is kept: strings (STACK_GLOBAL operands, dict keys), small ints (shapes, sizes), containers with
 * a bounded number of items, globals, and the result of calls. Big payloads are reduced to their length.
 */

/** A global (class or function) that the unpickler would import: GLOBAL, INST, STACK_GLOBAL or EXT. */
export interface PyGlobal {
  readonly t: 'global';
  /** Dotted import path "module.name" after Python 2 name fixes; "?" parts when unresolved. */
  readonly path: string;
  /** Byte offset of the opcode that imported it. */
  readonly offset: number;
  /** False for STACK_GLOBAL with non-string operands and for EXT codes: the target cannot be known. */
  readonly resolved: boolean;
}

/** What a call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST) returns. */
export interface PyObject {
  readonly t: 'object';
  readonly callee: Value;
  readonly args: Value;
  readonly offset: number;
  /** The BUILD state applied to it, if any. */
  state?: Value;
  /** Expanded size (see PySequence.n). */
  n: number;
  /** Stored in the memo (so a POP of it does not discard it). */
  memo?: boolean;
}

export interface PyBytes {
  readonly t: 'bytes';
  readonly length: number;
}

/** A string too long to keep: its content is unknown (fine as data, unresolvable as an operand). */
export interface PyLongString {
  readonly t: 'longstr';
  readonly length: number;
}

export interface PySequence {
  readonly t: 'tuple' | 'list';
  readonly items: Value[];
  /** Items not kept because the container passed ITEM_CAP. */
  dropped: number;
  /**
   * Expanded size: how many values a traversal that follows every reference visits below this one (a shared
   * container counts once per reference). Tracks "billion laughs" nesting that a few opcodes build.
   */
  n: number;
}

export interface PyDict {
  readonly t: 'dict';
  readonly keys: Value[];
  readonly values: Value[];
  dropped: number;
  /** Expanded size (see PySequence.n). */
  n: number;
}

export interface PySet {
  readonly t: 'set' | 'frozenset';
  size: number;
  /** Expanded size (see PySequence.n). */
  n: number;
}

/** Something the walker cannot model: a persistent id, an out-of-band buffer, an untracked memo slot. */
export interface PyOpaque {
  readonly t: 'opaque';
  readonly what: 'persistent' | 'buffer' | 'untracked' | 'bigint';
  /** For persistent ids: the pid value (torch: ('storage', cls, key, location, numel)). */
  readonly detail?: Value;
}

export type Value = null | boolean | number | bigint | string | PyGlobal | PyObject | PyBytes | PyLongString | PySequence | PyDict | PySet | PyOpaque;

/** Containers keep at most this many items: enough for shapes, dtype states and joblib wrapper dicts. */
export const ITEM_CAP = 256;

export function isGlobal(v: Value | undefined): v is PyGlobal {
  return typeof v === 'object' && v !== null && v.t === 'global';
}

export function isObject(v: Value | undefined): v is PyObject {
  return typeof v === 'object' && v !== null && v.t === 'object';
}

export function isSequence(v: Value | undefined): v is PySequence {
  return typeof v === 'object' && v !== null && (v.t === 'tuple' || v.t === 'list');
}

export function isDict(v: Value | undefined): v is PyDict {
  return typeof v === 'object' && v !== null && v.t === 'dict';
}

/** What a value adds to the expanded size of a container that holds it: itself plus what it expands to. */
export function weight(v: Value): number {
  return typeof v === 'object' && v !== null && 'n' in v ? 1 + v.n : 1;
}

/** The expanded size of a list of items (see PySequence.n). */
export function weightOf(items: readonly Value[]): number {
  let n = 0;
  for (let i = 0; i < items.length; i++) n += weight(items[i]);
  return n;
}

export function tuple(items: Value[]): PySequence {
  const n = weightOf(items);
  if (items.length > ITEM_CAP) return { t: 'tuple', items: items.slice(0, ITEM_CAP), dropped: items.length - ITEM_CAP, n };
  return { t: 'tuple', items, dropped: 0, n };
}

export function pushItem(seq: PySequence, v: Value): void {
  seq.n += weight(v);
  if (seq.items.length < ITEM_CAP) seq.items.push(v);
  else seq.dropped++;
}

export function setItem(d: PyDict, k: Value, v: Value): void {
  d.n += weight(k) + weight(v);
  if (d.keys.length < ITEM_CAP) {
    d.keys.push(k);
    d.values.push(v);
  } else d.dropped++;
}

/** A dict's value for a string key, or undefined. */
export function dictGet(d: PyDict, key: string): Value | undefined {
  const i = d.keys.indexOf(key);
  return i >= 0 ? d.values[i] : undefined;
}

/** Short description of a value for messages ("str", "bytes", "global os.system"...). */
export function describe(v: Value): string {
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
  }
  switch (v.t) {
    case 'global':
      return `global ${v.path}`;
    case 'object':
      return isGlobal(v.callee) ? `${v.callee.path}(...) result` : 'call result';
    case 'longstr':
      return `str of ${v.length} bytes`;
    case 'opaque':
      return v.what === 'persistent' ? 'persistent object' : v.what === 'buffer' ? 'out-of-band buffer' : v.what === 'untracked' ? 'untracked memo value' : 'int';
    default:
      return v.t;
  }
}

/**
 * Globals reachable from a value (call arguments, BUILD states), bounded in depth and count so a hostile
 * deeply nested structure cannot make judgement slow.
 */
export function globalsIn(v: Value, out: PyGlobal[] = [], depth = 0): PyGlobal[] {
  if (depth > 6 || out.length > 64 || v === null || typeof v !== 'object') return out;
  switch (v.t) {
    case 'global':
      out.push(v);
      break;
    case 'object':
      globalsIn(v.callee, out, depth + 1);
      globalsIn(v.args, out, depth + 1);
      if (v.state !== undefined) globalsIn(v.state, out, depth + 1);
      break;
    case 'tuple':
    case 'list':
      for (const item of v.items) globalsIn(item, out, depth + 1);
      break;
    case 'dict':
      for (let i = 0; i < v.keys.length; i++) {
        globalsIn(v.keys[i], out, depth + 1);
        globalsIn(v.values[i], out, depth + 1);
      }
      break;
    case 'opaque':
      if (v.detail !== undefined) globalsIn(v.detail, out, depth + 1);
      break;
  }
  return out;
}
