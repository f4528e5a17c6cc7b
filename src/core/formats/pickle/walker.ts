import type { ByteSource } from '../source';
import { BufferSource } from '../source';
import { opName } from './opcodes';
import { FORWARDERS, globalPath } from './policy';
import { parseDecimal, parseFloatText, parseQuotedString, parseRawUnicode } from './text-args';
import {
  describe, globalsIn, isDict, isGlobal, isObject, isSequence, ITEM_CAP,
  type PyDict, type PyGlobal, type PyObject, type PySequence, type Value,
} from './values';
import { JOBLIB_WRAPPERS, joblibArrayLayout } from './joblib';

/**
 * A pickle opcode walker: it follows what CPython's Unpickler would do to its stack and memo, without
 * importing or calling anything, and records every global the stream imports and every call it makes.
 *
 * Speed: one pass over the bytes in chunks read from the ByteSource (never the whole file), a switch on
 * the opcode byte, and payloads (BINBYTES*, long strings) skipped by length without being copied.
 */

/** How one global is used across the stream. */
export interface GlobalUse {
  path: string;
  resolved: boolean;
  /** Offset of the first opcode importing it. */
  offset: number;
  refs: number;
  calls: number;
  /** Offset and opcode of the first call (REDUCE, NEWOBJ, INST, BUILD...). */
  callOffset?: number;
  callOp?: string;
}

/** Something the walker noticed that is not a plain global use; judge.ts turns it into a finding. */
export interface WalkEvent {
  rule: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  message: string;
  offset: number;
}

export interface WalkResult {
  /** PROTO numbers seen, one per pickle (0 when a pickle has no PROTO: protocol 0/1). */
  protocols: number[];
  /** Complete pickles (ended by STOP), nested joblib object-array pickles included. */
  pickles: number;
  opcodes: number;
  calls: number;
  globals: GlobalUse[];
  events: WalkEvent[];
  persistentIds: number;
  /** torch storages named by persistent ids ('storage', cls, key, location, numel). */
  torchStorages: number;
  memoEntries: number;
  gets: number;
  dups: number;
  /** Raw array bytes written by joblib after NumpyArrayWrapper objects, skipped (not parsed as opcodes). */
  joblibArrays: number;
  joblibArrayBytes: number;
  /** Pre-1.6 torch.save format: 5 pickles then raw storage bytes. */
  legacyTorch: boolean;
  /** Bytes after the last pickle that were not walked (legacy torch storage data). */
  unwalkedBytes: number;
  /** Offset where walking stopped (end of data, or the parse error). */
  endOffset: number;
  /** False when a parse error stopped the walk (the error is an event). */
  complete: boolean;
}

export interface WalkOptions {
  signal?: AbortSignal;
  /** Walk [start, end) of the source. */
  start?: number;
  end?: number;
}

class PickleParseError extends Error {
  constructor(
    readonly offset: number,
    message: string,
    readonly rule = 'pickle/parse-error',
  ) {
    super(message);
  }
}

/** Bytes read from the source at a time (a BufferSource is read whole: subarray, no copy). */
const CHUNK = 4 << 20;
/** Longest protocol 0 text argument accepted (CPython has no limit; a longer line is refused, fail closed). */
const MAX_LINE = 16 << 20;
/** Strings longer than this are not decoded: they are data, never a plausible module or attribute name. */
const STRING_CAP = 64 << 10;
/** Memo entries tracked; beyond this, GET yields an "untracked" value (unresolvable as an operand). */
const MEMO_CAP = 2_000_000;
/** A memo index this far past the number of entries would make CPython's array memo allocate gigabytes. */
const MEMO_JUMP = 1 << 20;
/** The first pickle of a pre-1.6 torch.save file is this magic number. */
const TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const HOOK_DUNDERS = new Set([
  '__setstate__', '__reduce__', '__reduce_ex__', '__getattr__', '__getattribute__', '__setattr__', '__call__', '__class__',
  '__init__', '__new__', '__del__', '__getstate__', '__dict__', '__globals__', '__builtins__', '__code__', '__import__',
  '__getitem__', '__setitem__', '__iter__', '__eq__', '__hash__', '__len__', '__init_subclass__', '__set_name__',
  '__class_getitem__', '__mro_entries__', '__instancecheck__',
]);
/**
 * A value that expands to this many values when traversed, from a stream at least EXPANSION_RATIO times
 * smaller, is built from nested shared references ("billion laughs"): loading is cheap, but code that walks
 * it (printing, copying, serializing, comparing) runs out of memory or time. Real data needs about one
 * opcode byte per value, so plain arrays and state dicts stay far below the ratio.
 */
const EXPANSION_NODES = 10_000_000;
const EXPANSION_RATIO = 100;
/** Plain method names the unpickler itself calls (APPENDS -> extend/append, ADDITEMS -> add): a global stored under them is a hook. */
const METHOD_HOOKS = new Set(['append', 'extend', 'add']);

interface Frame {
  stack: Value[];
  marks: number[];
  memo: Value[];
  memoCount: number;
  pickleStart: number;
  protoFor: number;
}

const EMPTY = Buffer.alloc(0);
/** Float values never matter to judgement: one shared value instead of a heap number per BINFLOAT. */
const FLOAT = NaN;

export class PickleWalker {
  private buf: Buffer = EMPTY;
  /** Absolute offset of buf[0]. */
  private bufBase = 0;
  /** Absolute offset of the next opcode (or of the byte the walker waits for). */
  private pos: number;
  private readonly end: number;

  private stack: Value[] = [];
  private marks: number[] = [];
  /** Length of the stack at the last MARK: ops below it are a different "current stack" (CPython metastack). */
  private floor = 0;
  /** Memo slots by index (an array: dense in real pickles; a sparse hostile index makes V8 use a dictionary). */
  private memo: Value[] = [];
  private memoCount = 0;
  private memoCapped = false;
  /** Offset where the current pickle began (after the previous STOP): a pickle is open once pos passes it. */
  private pickleStart = 0;
  /** pickleStart of the pickle whose PROTO was recorded. */
  private protoFor = -1;
  private readonly saved: Frame[] = [];
  /** Pending joblib raw array bytes: -1 none; else bytes of data after an optional padding byte. */
  private rawBytes = -1;
  private rawAligned = false;
  private done = false;
  private firstResult: Value | undefined;
  private expansionFlagged = false;

  private readonly globalUses = new Map<string, GlobalUse>();
  private readonly result: WalkResult;

  constructor(
    private readonly source: ByteSource,
    private readonly options: WalkOptions = {},
  ) {
    this.pos = options.start ?? 0;
    this.end = Math.min(options.end ?? source.size, source.size);
    this.pickleStart = this.pos;
    this.result = {
      protocols: [], pickles: 0, opcodes: 0, calls: 0, globals: [], events: [], persistentIds: 0, torchStorages: 0,
      memoEntries: 0, gets: 0, dups: 0, joblibArrays: 0, joblibArrayBytes: 0, legacyTorch: false, unwalkedBytes: 0,
      endOffset: this.pos, complete: true,
    };
  }

  async walk(): Promise<WalkResult> {
    const r = this.result;
    try {
      if (this.pos >= this.end) throw new PickleParseError(this.pos, 'empty pickle: no opcodes at all', 'pickle/truncated');
      for (;;) {
        const need = this.step();
        if (need === 0 || this.done) break;
        if (this.pos >= this.end && this.rawBytes < 0) {
          if (this.pos > this.pickleStart || this.saved.length > 0) {
            throw new PickleParseError(this.end, `the stream ends inside a pickle (no STOP opcode): truncated or crafted to hide opcodes from loaders that stop early`, 'pickle/truncated');
          }
          break;
        }
        this.options.signal?.throwIfAborted();
        await this.fill(need);
      }
    } catch (err) {
      if (!(err instanceof PickleParseError)) throw err;
      r.complete = false;
      this.event(err.rule, 'high', err.message, err.offset);
      this.pos = err.offset;
    }
    r.endOffset = Math.min(this.pos, this.end);
    r.globals = [...this.globalUses.values()];
    r.memoEntries = Math.max(r.memoEntries, this.memoCount);
    if (this.memoCapped) this.event('pickle/memo-limit', 'medium', `more than ${MEMO_CAP.toLocaleString('en-US')} memo entries: later memo references were not tracked`, r.endOffset);
    return r;
  }

  /** Reads at least `need` bytes at `pos` (more when available), or fails as truncated. */
  private async fill(need: number): Promise<void> {
    const available = this.end - this.pos;
    if (available < need) {
      throw new PickleParseError(this.pos, `truncated: the opcode at offset ${this.pos} needs ${need} bytes, only ${available} left`, 'pickle/truncated');
    }
    const want = this.source instanceof BufferSource ? available : Math.min(available, Math.max(need, CHUNK));
    const buf = await this.source.readAt(this.pos, want);
    if (buf.length < need) throw new PickleParseError(this.pos, `truncated: could read only ${buf.length} of ${need} bytes at offset ${this.pos}`, 'pickle/truncated');
    this.buf = buf;
    this.bufBase = this.pos;
  }

  private event(rule: string, severity: WalkEvent['severity'], message: string, offset: number): void {
    // Bounded: a hostile stream repeating one trick must not produce millions of findings.
    if (this.result.events.length < 200) this.result.events.push({ rule, severity, message, offset });
  }

  private fail(offset: number, message: string): never {
    throw new PickleParseError(offset, message);
  }

  // ---------------------------------------------------------------------------------------------------
  // The byte loop. Returns how many bytes it needs at this.pos to go on (0: finished).

  private step(): number {
    const buf = this.buf;
    const len = buf.length;
    const bufBase = this.bufBase;
    let p = this.pos - bufBase;
    const stack = this.stack;
    const r = this.result;
    let opcodes = 0;
    try {
      for (;;) {
        if (this.rawBytes >= 0) {
          // joblib: [padding-length byte, padding] then the array bytes, straight after the wrapper's BUILD.
          let skip = this.rawBytes;
          if (this.rawAligned) {
            if (p >= len) return this.need(p, 1);
            skip += 1 + buf[p];
          }
          this.rawBytes = -1;
          p += skip;
          if (bufBase + p > this.end) this.fail(bufBase + p - skip, `joblib array data (${skip} bytes) runs past the end of the stream`);
          if (p >= len) return this.skipTo(p);
        }
        if (p >= len) return this.need(p, 1);
        const at = bufBase + p;
        const op = buf[p];
        opcodes++;
        switch (op) {
          case 0x80: { // PROTO
            if (p + 2 > len) return this.need(p, 2);
            const proto = buf[p + 1];
            if (proto > 5) this.fail(at, `unsupported pickle protocol ${proto}`);
            if (at !== this.pickleStart) {
              this.event('pickle/misplaced-proto', 'medium', `PROTO ${proto} at offset ${at} is not the first opcode of its pickle (which starts at offset ${this.pickleStart}): no pickler writes this; the stream was edited or spliced by hand`, at);
            }
            if (this.protoFor !== this.pickleStart) r.protocols.push(proto);
            else r.protocols[r.protocols.length - 1] = proto;
            this.protoFor = this.pickleStart;
            p += 2;
            continue;
          }
          case 0x95: { // FRAME
            if (p + 9 > len) return this.need(p, 9);
            const size = buf.readUInt32LE(p + 1) + buf.readUInt32LE(p + 5) * 0x100000000;
            if (at + 9 + size > this.end) this.fail(at, `FRAME of ${size} bytes runs past the end of the stream`);
            p += 9;
            continue;
          }
          case 0x2e: { // STOP
            const value = this.pop(at);
            p += 1;
            this.endPickle(value, bufBase + p);
            if (this.done) {
              this.pos = bufBase + p;
              return 0;
            }
            continue;
          }
          case 0x28: // MARK
            this.marks.push(stack.length);
            this.floor = stack.length;
            p += 1;
            continue;
          case 0x30: // POP
            if (stack.length > this.floor) this.discard(stack.pop() as Value, at);
            else this.popMark(at);
            p += 1;
            continue;
          case 0x31: // POP_MARK
            for (const v of this.popMark(at)) this.discard(v, at);
            p += 1;
            continue;
          case 0x32: // DUP
            r.dups++;
            stack.push(this.top(at));
            p += 1;
            continue;
          // --- constants
          case 0x4e: // NONE
            stack.push(null);
            p += 1;
            break;
          case 0x88: // NEWTRUE
            stack.push(true);
            p += 1;
            break;
          case 0x89: // NEWFALSE
            stack.push(false);
            p += 1;
            break;
          case 0x4a: // BININT
            if (p + 5 > len) return this.need(p, 5);
            stack.push(buf.readInt32LE(p + 1));
            p += 5;
            break;
          case 0x4b: // BININT1
            if (p + 2 > len) return this.need(p, 2);
            stack.push(buf[p + 1]);
            p += 2;
            break;
          case 0x4d: // BININT2
            if (p + 3 > len) return this.need(p, 3);
            stack.push(buf.readUInt16LE(p + 1));
            p += 3;
            break;
          case 0x47: // BINFLOAT
            if (p + 9 > len) return this.need(p, 9);
            stack.push(FLOAT);
            p += 9;
            break;
          case 0x8a: { // LONG1
            if (p + 2 > len) return this.need(p, 2);
            const n = buf[p + 1];
            if (p + 2 + n > len) return this.need(p, 2 + n);
            stack.push(decodeLong(buf, p + 2, n));
            p += 2 + n;
            break;
          }
          case 0x8b: { // LONG4
            if (p + 5 > len) return this.need(p, 5);
            const n = buf.readInt32LE(p + 1);
            if (n < 0) this.fail(at, 'LONG4 with a negative byte count');
            if (n <= 64) {
              if (p + 5 + n > len) return this.need(p, 5 + n);
              stack.push(decodeLong(buf, p + 5, n));
            } else stack.push({ t: 'opaque', what: 'bigint' });
            p += 5 + n;
            if (p > len) return this.skipTo(p);
            break;
          }
          // --- strings and bytes with binary lengths
          case 0x8c: // SHORT_BINUNICODE
          case 0x55: // SHORT_BINSTRING
          case 0x43: { // SHORT_BINBYTES
            if (p + 2 > len) return this.need(p, 2);
            const n = buf[p + 1];
            if (p + 2 + n > len) return this.need(p, 2 + n);
            stack.push(op === 0x43 /* SHORT_BINBYTES */ ? { t: 'bytes', length: n } : buf.toString(op === 0x8c /* SHORT_BINUNICODE */ ? 'utf8' : 'latin1', p + 2, p + 2 + n));
            p += 2 + n;
            break;
          }
          case 0x58: // BINUNICODE
          case 0x54: // BINSTRING
          case 0x42: { // BINBYTES
            if (p + 5 > len) return this.need(p, 5);
            const n = op === 0x54 /* BINSTRING */ ? buf.readInt32LE(p + 1) : buf.readUInt32LE(p + 1);
            if (n < 0) this.fail(at, 'BINSTRING with a negative length');
            if (op === 0x42 /* BINBYTES */) stack.push({ t: 'bytes', length: n });
            else if (n <= STRING_CAP) {
              if (p + 5 + n > len) return this.need(p, 5 + n);
              stack.push(buf.toString(op === 0x58 /* BINUNICODE */ ? 'utf8' : 'latin1', p + 5, p + 5 + n));
            } else stack.push({ t: 'longstr', length: n });
            p += 5 + n;
            if (p > len) return this.skipTo(p);
            break;
          }
          case 0x8d: // BINUNICODE8
          case 0x8e: // BINBYTES8
          case 0x96: { // BYTEARRAY8
            if (p + 9 > len) return this.need(p, 9);
            const hi = buf.readUInt32LE(p + 5);
            if (hi >= 0x200000) this.fail(at, `${opName(op)} length does not fit in 53 bits`);
            const n = buf.readUInt32LE(p + 1) + hi * 0x100000000;
            if (op !== 0x8d /* BINUNICODE8 */) stack.push({ t: 'bytes', length: n });
            else if (n <= STRING_CAP) {
              if (p + 9 + n > len) return this.need(p, 9 + n);
              stack.push(buf.toString('utf8', p + 9, p + 9 + n));
            } else stack.push({ t: 'longstr', length: n });
            p += 9 + n;
            if (p > len) return this.skipTo(p);
            break;
          }
          // --- protocol 0 text arguments
          case 0x49: // INT
          case 0x4c: // LONG
          case 0x46: // FLOAT
          case 0x53: // STRING
          case 0x56: { // UNICODE
            const nl = this.lineEnd(p + 1);
            if (nl < 0) return this.needLine(p);
            const text = buf.toString('latin1', p + 1, nl);
            stack.push(this.textValue(op, text, at));
            p = nl + 1;
            break;
          }
          // --- containers
          case 0x29: // EMPTY_TUPLE
            stack.push(tuple([]));
            p += 1;
            break;
          case 0x5d: // EMPTY_LIST
            stack.push({ t: 'list', items: [], dropped: 0, n: 0 });
            p += 1;
            break;
          case 0x7d: // EMPTY_DICT
            stack.push({ t: 'dict', keys: [], values: [], dropped: 0, n: 0 });
            p += 1;
            break;
          case 0x8f: // EMPTY_SET
            stack.push({ t: 'set', size: 0, n: 0 });
            p += 1;
            break;
          case 0x85: { // TUPLE1
            const a = this.pop(at);
            stack.push(tuple([a]));
            p += 1;
            break;
          }
          case 0x86: { // TUPLE2
            const b = this.pop(at);
            const a = this.pop(at);
            stack.push(tuple([a, b]));
            p += 1;
            break;
          }
          case 0x87: { // TUPLE3
            const c = this.pop(at);
            const b = this.pop(at);
            const a = this.pop(at);
            stack.push(tuple([a, b, c]));
            p += 1;
            break;
          }
          case 0x74: // TUPLE
            stack.push(tuple(this.popMark(at)));
            p += 1;
            break;
          case 0x6c: { // LIST
            const items = this.popMark(at);
            const list: PySequence = { t: 'list', items: items.slice(0, ITEM_CAP), dropped: Math.max(0, items.length - ITEM_CAP), n: weightOf(items) };
            stack.push(list);
            p += 1;
            break;
          }
          case 0x64: { // DICT
            const items = this.popMark(at);
            if (items.length % 2 !== 0) this.fail(at, 'DICT with an odd number of items');
            const d: PyDict = { t: 'dict', keys: [], values: [], dropped: 0, n: 0 };
            for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
            stack.push(d);
            p += 1;
            break;
          }
          case 0x91: { // FROZENSET
            const items = this.popMark(at);
            stack.push({ t: 'frozenset', size: items.length, n: weightOf(items) });
            p += 1;
            break;
          }
          case 0x61: { // APPEND
            const v = this.pop(at);
            this.mutate(this.top(at), [v], at, op);
            p += 1;
            break;
          }
          case 0x65: // APPENDS
          case 0x90: { // ADDITEMS
            const k = this.markIndex(at);
            this.mutateRange(this.belowMark(k, at), k, at, op);
            p += 1;
            break;
          }
          case 0x73: { // SETITEM
            const v = this.pop(at);
            const k = this.pop(at);
            this.mutate(this.top(at), [k, v], at, op);
            p += 1;
            break;
          }
          case 0x75: { // SETITEMS
            const k = this.markIndex(at);
            if ((stack.length - k) % 2 !== 0) this.fail(at, 'SETITEMS with an odd number of items');
            this.mutateRange(this.belowMark(k, at), k, at, op);
            p += 1;
            break;
          }
          // --- memo
          case 0x71: // BINPUT
            if (p + 2 > len) return this.need(p, 2);
            this.put(buf[p + 1], at);
            p += 2;
            continue;
          case 0x72: // LONG_BINPUT
            if (p + 5 > len) return this.need(p, 5);
            this.put(buf.readUInt32LE(p + 1), at);
            p += 5;
            continue;
          case 0x94: // MEMOIZE
            this.put(this.memoCount, at);
            p += 1;
            continue;
          case 0x70: { // PUT
            const nl = this.lineEnd(p + 1);
            if (nl < 0) return this.needLine(p);
            const idx = parseDecimal(buf.toString('latin1', p + 1, nl));
            if (typeof idx !== 'number' || idx < 0) this.fail(at, 'PUT with a bad memo index');
            this.put(idx, at);
            p = nl + 1;
            continue;
          }
          case 0x68: // BINGET
            if (p + 2 > len) return this.need(p, 2);
            stack.push(this.get(buf[p + 1], at));
            p += 2;
            break;
          case 0x6a: // LONG_BINGET
            if (p + 5 > len) return this.need(p, 5);
            stack.push(this.get(buf.readUInt32LE(p + 1), at));
            p += 5;
            break;
          case 0x67: { // GET
            const nl = this.lineEnd(p + 1);
            if (nl < 0) return this.needLine(p);
            const idx = parseDecimal(buf.toString('latin1', p + 1, nl));
            if (typeof idx !== 'number' || idx < 0) this.fail(at, 'GET with a bad memo index');
            stack.push(this.get(idx, at));
            p = nl + 1;
            break;
          }
          // --- imports
          case 0x63: // GLOBAL
          case 0x69: { // INST
            const nl1 = this.lineEnd(p + 1);
            if (nl1 < 0) return this.needLine(p);
            const nl2 = this.lineEnd(nl1 + 1);
            if (nl2 < 0) return this.needLine(p);
            const module = buf.toString('utf8', p + 1, nl1);
            const name = buf.toString('utf8', nl1 + 1, nl2);
            const g = this.importGlobal(module, name, true, at);
            if (op === 0x63 /* GLOBAL */) stack.push(g);
            else stack.push(this.call(g, tuple(this.popMark(at)), at, 'INST'));
            p = nl2 + 1;
            break;
          }
          case 0x93: { // STACK_GLOBAL
            const name = this.pop(at);
            const module = this.pop(at);
            if (typeof module === 'string' && typeof name === 'string') stack.push(this.importGlobal(module, name, true, at));
            else {
              const path = `?(${describe(module)}).?(${describe(name)})`;
              this.event('pickle/unresolved-global', 'critical', `STACK_GLOBAL takes its module and name from values that are not plain strings (${describe(module)}, ${describe(name)}): the import cannot be checked`, at);
              stack.push(this.importGlobal(path, '', false, at));
            }
            p += 1;
            break;
          }
          case 0x82: // EXT1
          case 0x83: // EXT2
          case 0x84: { // EXT4
            const n = op === 0x82 /* EXT1 */ ? 1 : op === 0x83 /* EXT2 */ ? 2 : 4;
            if (p + 1 + n > len) return this.need(p, 1 + n);
            const code = n === 1 ? buf[p + 1] : n === 2 ? buf.readUInt16LE(p + 1) : buf.readInt32LE(p + 1);
            if (code <= 0) this.fail(at, `${opName(op)} with code ${code} <= 0`);
            this.event('pickle/extension-code', 'high', `${opName(op)} imports extension code ${code} from the copyreg extension registry: the global it names depends on the loading process and cannot be checked`, at);
            stack.push(this.importGlobal(`?ext.${code}`, '', false, at));
            p += 1 + n;
            break;
          }
          // --- calls
          case 0x52: { // REDUCE
            const args = this.pop(at);
            const callee = this.pop(at);
            stack.push(this.call(callee, args, at, 'REDUCE'));
            p += 1;
            break;
          }
          case 0x81: { // NEWOBJ
            const args = this.pop(at);
            const cls = this.pop(at);
            stack.push(this.call(cls, args, at, 'NEWOBJ'));
            p += 1;
            break;
          }
          case 0x92: { // NEWOBJ_EX
            const kwargs = this.pop(at);
            const args = this.pop(at);
            const cls = this.pop(at);
            stack.push(this.call(cls, tuple([args, kwargs]), at, 'NEWOBJ_EX'));
            p += 1;
            break;
          }
          case 0x6f: { // OBJ
            const items = this.popMark(at);
            if (items.length === 0) this.fail(at, 'OBJ without a class after MARK');
            stack.push(this.call(items[0], tuple(items.slice(1)), at, 'OBJ'));
            p += 1;
            break;
          }
          case 0x62: { // BUILD
            const state = this.pop(at);
            this.build(this.top(at), state, at);
            p += 1;
            break;
          }
          // --- persistent ids and out-of-band buffers
          case 0x50: { // PERSID
            const nl = this.lineEnd(p + 1);
            if (nl < 0) return this.needLine(p);
            stack.push(this.persistent(buf.toString('latin1', p + 1, nl), at));
            p = nl + 1;
            break;
          }
          case 0x51: // BINPERSID
            stack.push(this.persistent(this.pop(at), at));
            p += 1;
            break;
          case 0x97: // NEXT_BUFFER
            this.event('pickle/out-of-band-buffer', 'low', 'NEXT_BUFFER takes data from buffers the loading code passes in (protocol 5 out-of-band data): the content is not in this file', at);
            stack.push({ t: 'opaque', what: 'buffer' });
            p += 1;
            break;
          case 0x98: // READONLY_BUFFER
            this.top(at);
            p += 1;
            break;
          default:
            this.fail(at, `invalid opcode byte 0x${op.toString(16).padStart(2, '0')} at offset ${at}`);
        }
      }
    } finally {
      r.opcodes += opcodes;
    }
  }

  /** Saves the position of an opcode that needs `n` bytes from `p` and asks for a refill. */
  private need(p: number, n: number): number {
    this.pos = this.bufBase + p;
    return n;
  }

  /** A payload ran past the buffer: continue reading after it. */
  private skipTo(p: number): number {
    this.pos = this.bufBase + p;
    if (this.pos > this.end) throw new PickleParseError(this.end, `truncated: a payload runs ${this.pos - this.end} bytes past the end of the stream`, 'pickle/truncated');
    return 1;
  }

  private lineEnd(from: number): number {
    return this.buf.indexOf(0x0a, from);
  }

  /** A text argument has no newline in the buffer yet: ask for a bigger window (bounded). */
  private needLine(p: number): number {
    const have = this.buf.length - p;
    const at = this.bufBase + p;
    if (at + have >= this.end) throw new PickleParseError(at, `truncated: the text argument of ${opName(this.buf[p])} at offset ${at} has no newline before the end`, 'pickle/truncated');
    if (have > MAX_LINE) this.fail(at, `the text argument of ${opName(this.buf[p])} at offset ${at} is longer than ${MAX_LINE} bytes`);
    return this.need(p, Math.min(have * 2 + 64, this.end - at));
  }

  private textValue(op: number, text: string, at: number): Value {
    switch (op) {
      case 0x49: { // INT
        if (text === '00') return false;
        if (text === '01') return true;
        const n = parseDecimal(text);
        if (n === undefined) this.fail(at, 'INT with a bad decimal argument');
        return n;
      }
      case 0x4c: { // LONG
        const n = parseDecimal(text);
        if (n === undefined) this.fail(at, 'LONG with a bad decimal argument');
        return n;
      }
      case 0x46: { // FLOAT
        const f = parseFloatText(text);
        if (f === undefined) this.fail(at, 'FLOAT with a bad argument');
        return f;
      }
      case 0x53: { // STRING
        const s = parseQuotedString(text);
        if (s === undefined) this.fail(at, 'STRING argument is not a quoted string');
        return s;
      }
      default:
        return parseRawUnicode(text);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Stack and memo.

  private pop(at: number): Value {
    if (this.stack.length <= this.floor) this.fail(at, `${opName(this.opAt(at))} at offset ${at} pops an empty stack`);
    return this.stack.pop() as Value;
  }

  private top(at: number): Value {
    if (this.stack.length <= this.floor) this.fail(at, `${opName(this.opAt(at))} at offset ${at} needs a value on an empty stack`);
    return this.stack[this.stack.length - 1];
  }

  private opAt(at: number): number {
    const i = at - this.bufBase;
    return i >= 0 && i < this.buf.length ? this.buf[i] : 0;
  }

  /** Pops the last MARK and returns where its items start on the stack (they stay there until mutateRange). */
  private markIndex(at: number): number {
    const k = this.marks.pop();
    if (k === undefined) this.fail(at, `${opName(this.opAt(at))} at offset ${at} needs a MARK and there is none`);
    this.floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    return k;
  }

  /** The value under a MARK (the list/dict/set APPENDS, SETITEMS and ADDITEMS add to). */
  private belowMark(k: number, at: number): Value {
    if (k <= this.floor) this.fail(at, `${opName(this.opAt(at))} at offset ${at} has no container under its MARK`);
    return this.stack[k - 1];
  }

  /** mutate() for stack[k..] without copying the items out, then drops them. */
  private mutateRange(target: Value, k: number, at: number, op: number): void {
    const stack = this.stack;
    if (typeof target === 'object' && target !== null) {
      if (target.t === 'list' && op === 0x65) {
        // Only values that can name or carry code are kept in lists: numbers (weights, statistics) never matter.
        for (let i = k; i < stack.length; i++) {
          const v = stack[i];
          if ((typeof v === 'object' && v !== null) || typeof v === 'string') pushItem(target, v);
          else {
            target.dropped++;
            target.n++;
          }
        }
      } else if (target.t === 'dict' && op === 0x75) {
        for (let i = k; i + 1 < stack.length; i += 2) setItem(target, stack[i], stack[i + 1]);
      } else this.mutate(target, stack.slice(k), at, op);
    }
    stack.length = k;
  }

  private popMark(at: number): Value[] {
    const k = this.marks.pop();
    if (k === undefined) this.fail(at, `${opName(this.opAt(at))} at offset ${at} needs a MARK and there is none`);
    const items = this.stack.splice(k);
    this.floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    return items;
  }

  private put(idx: number, at: number): void {
    const v = this.top(at);
    if (typeof v === 'object' && v !== null) {
      if (v.t === 'object') v.memo = true;
      if ('n' in v && v.n >= EXPANSION_NODES) this.checkExpansion(v.n, at);
    }
    if (idx > this.memoCount + MEMO_JUMP) {
      this.event('pickle/memo-abuse', 'high', `memo index ${idx} jumps far past the ${this.memoCount} entries stored: loaders that size the memo by index allocate huge memory`, at);
    }
    if (this.memo[idx] === undefined) {
      this.memoCount++;
      if (this.memoCount > MEMO_CAP) {
        this.memoCapped = true;
        return;
      }
    }
    this.memo[idx] = v;
  }

  /** POP/POP_MARK drop a value: a call whose result nobody keeps ran only for its side effects. */
  private discard(v: Value, at: number): void {
    if (typeof v !== 'object' || v === null) return;
    if ('n' in v && v.n >= EXPANSION_NODES) this.checkExpansion(v.n, at);
    if (v.t === 'object' && !v.memo) {
      this.event('pickle/discarded-call', 'medium', `${describe(v)} is dropped by ${opName(this.opAt(at))} at offset ${at} without being stored or used: a call made only for its side effects, the shape of an injected payload`, at);
    }
  }

  /** Flags (once) a value whose expanded size is out of all proportion to the bytes read so far. */
  private checkExpansion(n: number, at: number): void {
    const walked = at + 1 - (this.options.start ?? 0);
    if (this.expansionFlagged || n < EXPANSION_RATIO * walked) return;
    this.expansionFlagged = true;
    const size = n === Infinity ? 'more than 10^308' : n.toLocaleString('en-US', { maximumFractionDigits: 0 });
    this.event('pickle/expansion', 'high', `a value at offset ${at} expands to ${size} values when traversed, built by ${walked.toLocaleString('en-US')} bytes of nested references to the same containers ("billion laughs"): code that walks it (print, copy, serialize) exhausts memory`, at);
  }

  private get(idx: number, at: number): Value {
    this.result.gets++;
    const v = this.memo[idx];
    if (v !== undefined) return v;
    if (this.memoCapped) return { t: 'opaque', what: 'untracked' };
    return this.fail(at, `memo entry ${idx} read at offset ${at} was never stored`);
  }

  // ---------------------------------------------------------------------------------------------------
  // Imports, calls and state.

  private importGlobal(module: string, name: string, resolved: boolean, at: number): PyGlobal {
    const path = resolved ? globalPath(module, name) : module;
    let use = this.globalUses.get(path);
    if (!use) {
      if (this.globalUses.size >= 10_000) this.fail(at, 'more than 10,000 distinct globals: refused');
      use = { path, resolved, offset: at, refs: 0, calls: 0 };
      this.globalUses.set(path, use);
    }
    use.refs++;
    return { t: 'global', path, offset: at, resolved };
  }

  private markCalled(g: PyGlobal, at: number, op: string): void {
    const use = this.globalUses.get(g.path);
    if (!use) return;
    use.calls++;
    if (use.callOffset === undefined) {
      use.callOffset = at;
      use.callOp = op;
    }
  }

  private call(callee: Value, args: Value, at: number, op: string): PyObject {
    this.result.calls++;
    if (isGlobal(callee)) {
      this.markCalled(callee, at, op);
      const forwarded = FORWARDERS.get(callee.path);
      if (forwarded !== undefined) {
        const via = `${op} via ${callee.path}`;
        if (forwarded === 'all' || !isSequence(args)) for (const g of globalsIn(args)) this.markCalled(g, at, via);
        else for (const i of forwarded) if (i < args.items.length) for (const g of globalsIn(args.items[i])) this.markCalled(g, at, via);
      }
    } else {
      this.event('pickle/indirect-call', 'high', `${op} calls a ${describe(callee)} rather than an imported global: model weights never do this`, at);
      for (const g of globalsIn(callee)) this.markCalled(g, at, `${op} of a computed callable`);
    }
    return { t: 'object', callee, args, offset: at, n: weight(args) };
  }

  /** APPEND(S), SETITEM(S), ADDITEMS: on a list/dict/set they add items; on anything else they call methods. */
  private mutate(target: Value, items: Value[], at: number, op: number): void {
    if (isSequence(target) && target.t === 'list' && (op === 0x61 /* APPEND */ || op === 0x65 /* APPENDS */)) {
      for (const v of items) pushItem(target, v);
      return;
    }
    if (isDict(target) && (op === 0x73 /* SETITEM */ || op === 0x75 /* SETITEMS */)) {
      for (let i = 0; i + 1 < items.length; i += 2) setItem(target, items[i], items[i + 1]);
      return;
    }
    if (typeof target === 'object' && target !== null && (target.t === 'set' || target.t === 'frozenset')) {
      target.size += items.length;
      target.n += weightOf(items);
      return;
    }
    if (isGlobal(target)) {
      this.markCalled(target, at, opName(op));
      this.event('pickle/mutates-global', 'high', `${opName(op)} adds items to the imported global ${target.path} itself: this changes module state in the loading process`, at);
      return;
    }
    // On an instance, its class's append/extend/__setitem__ run: judged through that class (already a call).
  }

  private build(target: Value, state: Value, at: number): void {
    const hooks = hookKeys(state);
    if (hooks.length > 0) {
      this.event('pickle/setstate-override', 'critical', `BUILD sets ${hooks.join(', ')} on an object: a known trick to make the next BUILD or lookup call an arbitrary function`, at);
      for (const g of globalsIn(state)) this.markCalled(g, at, 'BUILD hook');
    }
    if (isGlobal(target)) {
      this.markCalled(target, at, 'BUILD');
      this.event('pickle/build-on-global', 'high', `BUILD sets attributes on the imported global ${target.path} itself (module or class state in the loading process)`, at);
      return;
    }
    if (!isObject(target)) return;
    target.state = state;
    target.n += weight(state);
    if (isGlobal(target.callee)) {
      this.markCalled(target.callee, at, 'BUILD');
      if (JOBLIB_WRAPPERS.has(target.callee.path) && target.callee.path.endsWith('NumpyArrayWrapper')) this.joblibArray(state, at);
    }
  }

  /** joblib writes the array right after the wrapper's BUILD: raw bytes, or a nested pickle for object arrays. */
  private joblibArray(state: Value, at: number): void {
    const layout = joblibArrayLayout(state);
    if (typeof layout === 'string') this.fail(at, `joblib NumpyArrayWrapper state is not usable: ${layout}`);
    this.result.joblibArrays++;
    if (layout.objectArray) {
      // pickle.dump(array, protocol=2) in the middle of the outer pickle: walk it with its own stack and memo.
      this.saved.push({ stack: this.stack.splice(0), marks: this.marks, memo: this.memo, memoCount: this.memoCount, pickleStart: this.pickleStart, protoFor: this.protoFor });
      this.marks = [];
      this.floor = 0;
      this.memo = [];
      this.memoCount = 0;
      // The nested pickle starts right after the wrapper's BUILD opcode.
      this.pickleStart = at + 1;
      this.protoFor = -1;
      return;
    }
    this.result.joblibArrayBytes += layout.bytes;
    this.rawBytes = layout.bytes;
    this.rawAligned = layout.aligned;
  }

  private persistent(pid: Value, at: number): Value {
    this.result.persistentIds++;
    if (isSequence(pid) && pid.items[0] === 'storage' && pid.items.length >= 5) this.result.torchStorages++;
    else if (this.result.persistentIds - this.result.torchStorages <= 1) {
      this.event('pickle/persistent-id', 'medium', `persistent id (${describe(pid)}) is resolved by the loading code, not by pickle: only torch storage ids are expected in model files`, at);
    }
    return { t: 'opaque', what: 'persistent', detail: pid };
  }

  private endPickle(value: Value, next: number): void {
    const r = this.result;
    r.pickles++;
    if (typeof value === 'object' && value !== null && 'n' in value && value.n >= EXPANSION_NODES) this.checkExpansion(value.n, next - 1);
    if (this.saved.length > 0) {
      // The nested joblib object-array pickle ends: back to the outer pickle.
      const outer = this.saved.pop() as Frame;
      r.memoEntries = Math.max(r.memoEntries, this.memoCount);
      this.stack.length = 0;
      for (const v of outer.stack) this.stack.push(v);
      this.marks = outer.marks;
      this.floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
      this.memo = outer.memo;
      this.memoCount = outer.memoCount;
      this.pickleStart = outer.pickleStart;
      this.protoFor = outer.protoFor;
      return;
    }
    if (r.pickles === 1) this.firstResult = value;
    if (r.protocols.length < r.pickles) r.protocols.push(0);
    r.memoEntries = Math.max(r.memoEntries, this.memoCount);
    this.stack.length = 0;
    this.marks = [];
    this.floor = 0;
    this.memo = [];
    this.memoCount = 0;
    this.pickleStart = next;
    if (this.firstResult === TORCH_LEGACY_MAGIC) r.legacyTorch = true;
    if (r.legacyTorch && r.pickles >= 5) {
      // Legacy torch.save: magic, protocol, sys_info, the object, storage keys; then raw storage bytes.
      r.unwalkedBytes = this.end - next;
      this.done = true;
    }
  }
}

// Local copies of the container helpers: the hot loop calls them per opcode, and a call through another
// module's export object is slower in some module loaders.
function weight(v: Value): number {
  return typeof v === 'object' && v !== null && 'n' in v ? 1 + v.n : 1;
}

function weightOf(items: readonly Value[]): number {
  let n = 0;
  for (let i = 0; i < items.length; i++) n += weight(items[i]);
  return n;
}

function tuple(items: Value[]): PySequence {
  const n = weightOf(items);
  if (items.length > ITEM_CAP) return { t: 'tuple', items: items.slice(0, ITEM_CAP), dropped: items.length - ITEM_CAP, n };
  return { t: 'tuple', items, dropped: 0, n };
}

function pushItem(seq: PySequence, v: Value): void {
  seq.n += weight(v);
  if (seq.items.length < ITEM_CAP) seq.items.push(v);
  else seq.dropped++;
}

function setItem(d: PyDict, k: Value, v: Value): void {
  d.n += weight(k) + weight(v);
  if (d.keys.length < ITEM_CAP) {
    d.keys.push(k);
    d.values.push(v);
  } else d.dropped++;
}

function decodeLong(buf: Buffer, at: number, n: number): number | bigint {
  if (n === 0) return 0;
  if (n <= 6) return buf.readIntLE(at, n);
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]);
  if (buf[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
  return v;
}

/** Keys of a BUILD state (dict, or (dict, slotstate) tuple) that override hooks the unpickler or Python call. */
function hookKeys(state: Value): string[] {
  const dicts: PyDict[] = [];
  if (isDict(state)) dicts.push(state);
  else if (isSequence(state) && state.t === 'tuple') for (const item of state.items.slice(0, 2)) if (isDict(item)) dicts.push(item);
  const found: string[] = [];
  for (const d of dicts) {
    d.keys.forEach((k, i) => {
      if (typeof k !== 'string' || found.includes(k)) return;
      if (HOOK_DUNDERS.has(k) || (METHOD_HOOKS.has(k) && isGlobal(d.values[i]))) found.push(k);
    });
  }
  return found;
}

