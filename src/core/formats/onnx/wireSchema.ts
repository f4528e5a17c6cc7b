/**
 * The wire layout of ONNX's protobuf messages (onnx.proto, the fields onnx-proto 8.0.1 decodes), used by
 * wireCheck.ts to validate the structure before protobufjs decodes it.
 *
 * Field kinds: 'varint' | 'fixed32' | 'fixed64' | 'string' (UTF-8) | 'bytes' | 'packed-varint' |
 * 'packed-fixed32' | 'packed-fixed64' (repeated scalars, packed or not), or a message name. `single`
 * marks a non-repeated message field; `oneof` names a group of which at most one member may appear.
 */
export type FieldKind = 'varint' | 'fixed32' | 'fixed64' | 'string' | 'bytes' | 'packed-varint' | 'packed-fixed32' | 'packed-fixed64' | MessageName;

export interface FieldSpec {
  kind: FieldKind;
  single?: boolean;
  oneof?: string;
}

export type MessageName =
  | 'Model'
  | 'Graph'
  | 'Node'
  | 'Attribute'
  | 'ValueInfo'
  | 'TrainingInfo'
  | 'StringStringEntry'
  | 'TensorAnnotation'
  | 'Tensor'
  | 'Segment'
  | 'SparseTensor'
  | 'TensorShape'
  | 'Dimension'
  | 'Type'
  | 'TypeTensor'
  | 'TypeSequence'
  | 'TypeMap'
  | 'TypeOptional'
  | 'OperatorSetId'
  | 'Function';

const one = (kind: FieldKind): FieldSpec => ({ kind, single: true });
const many = (kind: FieldKind): FieldSpec => ({ kind });
const oneOf = (kind: FieldKind, group: string): FieldSpec => ({ kind, single: true, oneof: group });

export const WIRE_SCHEMA: Record<MessageName, ReadonlyMap<number, FieldSpec>> = {
  Model: new Map([
    [1, one('varint')], [2, one('string')], [3, one('string')], [4, one('string')], [5, one('varint')], [6, one('string')],
    [7, one('Graph')], [8, many('OperatorSetId')], [14, many('StringStringEntry')], [20, many('TrainingInfo')], [25, many('Function')],
  ]),
  Graph: new Map([
    [1, many('Node')], [2, one('string')], [5, many('Tensor')], [10, one('string')], [11, many('ValueInfo')], [12, many('ValueInfo')],
    [13, many('ValueInfo')], [14, many('TensorAnnotation')], [15, many('SparseTensor')],
  ]),
  Node: new Map([
    [1, many('string')], [2, many('string')], [3, one('string')], [4, one('string')], [5, many('Attribute')], [6, one('string')], [7, one('string')],
  ]),
  Attribute: new Map([
    [1, one('string')], [2, one('fixed32')], [3, one('varint')], [4, one('bytes')], [5, one('Tensor')], [6, one('Graph')],
    [7, many('packed-fixed32')], [8, many('packed-varint')], [9, many('bytes')], [10, many('Tensor')], [11, many('Graph')],
    [13, one('string')], [14, one('Type')], [15, many('Type')], [20, one('varint')], [21, one('string')], [22, one('SparseTensor')], [23, many('SparseTensor')],
  ]),
  ValueInfo: new Map([[1, one('string')], [2, one('Type')], [3, one('string')]]),
  TrainingInfo: new Map([[1, one('Graph')], [2, one('Graph')], [3, many('StringStringEntry')], [4, many('StringStringEntry')]]),
  StringStringEntry: new Map([[1, one('string')], [2, one('string')]]),
  TensorAnnotation: new Map([[1, one('string')], [2, many('StringStringEntry')]]),
  Tensor: new Map([
    [1, many('packed-varint')], [2, one('varint')], [3, one('Segment')], [4, many('packed-fixed32')], [5, many('packed-varint')], [6, many('bytes')],
    [7, many('packed-varint')], [8, one('string')], [9, one('bytes')], [10, many('packed-fixed64')], [11, many('packed-varint')], [12, one('string')],
    [13, many('StringStringEntry')], [14, one('varint')],
  ]),
  Segment: new Map([[1, one('varint')], [2, one('varint')]]),
  SparseTensor: new Map([[1, one('Tensor')], [2, one('Tensor')], [3, many('packed-varint')]]),
  TensorShape: new Map([[1, many('Dimension')]]),
  Dimension: new Map([[1, oneOf('varint', 'value')], [2, oneOf('string', 'value')], [3, one('string')]]),
  Type: new Map([
    [1, oneOf('TypeTensor', 'value')], [4, oneOf('TypeSequence', 'value')], [5, oneOf('TypeMap', 'value')], [6, one('string')],
    [8, oneOf('TypeTensor', 'value')], [9, oneOf('TypeOptional', 'value')],
  ]),
  // TypeProto.Tensor and TypeProto.SparseTensor have the same layout: elem_type, shape.
  TypeTensor: new Map([[1, one('varint')], [2, one('TensorShape')]]),
  TypeSequence: new Map([[1, one('Type')]]),
  TypeMap: new Map([[1, one('varint')], [2, one('Type')]]),
  TypeOptional: new Map([[1, one('Type')]]),
  OperatorSetId: new Map([[1, one('string')], [2, one('varint')]]),
  Function: new Map([
    [1, one('string')], [4, many('string')], [5, many('string')], [6, many('string')], [7, many('Node')], [8, one('string')],
    [9, many('OperatorSetId')], [10, one('string')],
  ]),
};

/** The wire type a field kind is written with (packed kinds: 2, or their scalar type when unpacked). */
export function wireTypesOf(kind: FieldKind): readonly number[] {
  switch (kind) {
    case 'varint':
      return [0];
    case 'fixed64':
      return [1];
    case 'fixed32':
      return [5];
    case 'packed-varint':
      return [2, 0];
    case 'packed-fixed32':
      return [2, 5];
    case 'packed-fixed64':
      return [2, 1];
    default:
      return [2]; // strings, bytes, messages
  }
}
