import { WIRE_SCHEMA, wireTypesOf, type FieldSpec, type MessageName } from './wireSchema';

/**
 * Validates the protobuf wire structure of an ONNX model against the schema BEFORE protobufjs decodes it.
 *
 * Why: protobufjs trusts wire types (a known field with the wrong wire type is read as something else,
 * swallowing the bytes that follow), keeps the LAST copy of a repeated singular message (C++ protobuf,
 * which onnxruntime uses, MERGES them), and decodes strings leniently. Each of those lets a file look one
 * way to a scanner and another way to the runtime: hiding a custom-op node, for instance. A file that
 * passes this check decodes the same way in both. It also bounds nesting (C++ protobuf's default recursion
 * limit is 100), so the recursive decoder cannot overflow the stack. It validates; it builds no values.
 */

export const MAX_MESSAGE_DEPTH = 100;

export interface WireCheckResult {
  /** Why the bytes are not a well-formed ONNX ModelProto (undefined when they are). */
  error?: string;
  /** The finding rule for the error: onnx/malformed, onnx/duplicate-field, onnx/invalid-utf8, onnx/nesting-too-deep. */
  rule?: string;
  /** Fields the schema does not know, as `Message.field` (newer ONNX versions, or smuggled data). */
  unknownFields: string[];
}

interface Frame {
  type: MessageName;
  end: number;
  seen?: Set<number>;
  oneof?: Set<string>;
}

const MAX_UNKNOWN_LISTED = 20;
const utf8 = new TextDecoder('utf-8', { fatal: true });

class WireError extends Error {
  constructor(
    message: string,
    readonly rule = 'onnx/malformed',
  ) {
    super(message);
  }
}

export function checkModelWire(bytes: Uint8Array): WireCheckResult {
  const unknown = new Set<string>();
  let pos = 0;

  const varint = (): number => {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= bytes.length) throw new WireError(`truncated varint at byte ${pos}`);
      const b = bytes[pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
    throw new WireError(`varint longer than 10 bytes at byte ${pos}`);
  };

  const stack: Frame[] = [{ type: 'Model', end: bytes.length }];
  try {
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      if (pos === frame.end) {
        stack.pop();
        continue;
      }
      const at = pos;
      const key = varint();
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (field === 0 || field > 536_870_911) throw new WireError(`invalid field number ${field} at byte ${at}`);
      const spec: FieldSpec | undefined = WIRE_SCHEMA[frame.type].get(field);
      if (spec === undefined) {
        if (unknown.size < MAX_UNKNOWN_LISTED) unknown.add(`${frame.type}.${field}`);
      } else {
        if (!wireTypesOf(spec.kind).includes(wire)) {
          throw new WireError(`${frame.type} field ${field} has wire type ${wire}, the schema says ${wireTypesOf(spec.kind)[0]} (byte ${at})`);
        }
        if (spec.single && typeof spec.kind === 'string' && isMessage(spec.kind)) {
          frame.seen ??= new Set();
          if (frame.seen.has(field)) throw new WireError(`${frame.type} field ${field} (a single message) appears twice at byte ${at}: runtimes merge the copies, readers keep one`, 'onnx/duplicate-field');
          frame.seen.add(field);
        }
        if (spec.oneof) {
          frame.oneof ??= new Set();
          const key2 = `${spec.oneof}:${field}`;
          for (const other of frame.oneof) {
            if (other.startsWith(`${spec.oneof}:`) && other !== key2) throw new WireError(`${frame.type} sets more than one member of '${spec.oneof}' (byte ${at})`);
          }
          frame.oneof.add(key2);
        }
      }
      switch (wire) {
        case 0:
          varint();
          break;
        case 1:
          pos += 8;
          break;
        case 5:
          pos += 4;
          break;
        case 2: {
          const len = varint();
          if (len > frame.end - pos) throw new WireError(`${frame.type} field ${field} at byte ${at} claims ${len} bytes, only ${frame.end - pos} remain`);
          const end = pos + len;
          if (spec && isMessage(spec.kind)) {
            if (stack.length >= MAX_MESSAGE_DEPTH) throw new WireError(`messages nest deeper than ${MAX_MESSAGE_DEPTH} (protobuf's recursion limit) at byte ${at}`, 'onnx/nesting-too-deep');
            stack.push({ type: spec.kind as MessageName, end });
            continue; // parse the nested message's fields next
          }
          if (spec?.kind === 'string') checkUtf8(bytes.subarray(pos, end), frame.type, field, at);
          else if (spec?.kind === 'packed-fixed32' && len % 4 !== 0) throw new WireError(`packed ${frame.type} field ${field} at byte ${at}: ${len} bytes is not a multiple of 4`);
          else if (spec?.kind === 'packed-fixed64' && len % 8 !== 0) throw new WireError(`packed ${frame.type} field ${field} at byte ${at}: ${len} bytes is not a multiple of 8`);
          else if (spec?.kind === 'packed-varint') {
            while (pos < end) varint();
            if (pos !== end) throw new WireError(`packed ${frame.type} field ${field} at byte ${at}: the last varint runs past its field`);
          }
          pos = end;
          break;
        }
        default:
          // 3/4 (groups) are deprecated and never used by ONNX; 6/7 do not exist.
          throw new WireError(`wire type ${wire} (${frame.type} field ${field}) at byte ${at} is not used by ONNX`);
      }
      if (pos > frame.end) throw new WireError(`${frame.type} field ${field} at byte ${at} runs past the end of its message`);
    }
  } catch (err) {
    if (err instanceof WireError) return { error: err.message, rule: err.rule, unknownFields: [...unknown] };
    throw err;
  }
  return { unknownFields: [...unknown] };
}

function isMessage(kind: FieldSpec['kind']): boolean {
  return kind.charCodeAt(0) >= 65 && kind.charCodeAt(0) <= 90; // message names are capitalised
}

function checkUtf8(slice: Uint8Array, type: MessageName, field: number, at: number): void {
  try {
    utf8.decode(slice);
  } catch {
    // Lenient decoders replace or even accept bad sequences (overlong forms): the name a scanner reads
    // would then differ from the bytes the runtime compares.
    throw new WireError(`${type} field ${field} at byte ${at} is not valid UTF-8`, 'onnx/invalid-utf8');
  }
}
