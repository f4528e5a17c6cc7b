import { strict as assert } from 'node:assert';
import { detectFormat, looksLikeOnnx } from '../../../src/core/formats/detect';

const empty = Buffer.alloc(0);

describe('detectFormat (content, never the file name)', () => {
  it('recognises magic numbers', () => {
    const cases: [Buffer, string][] = [
      [Buffer.from('GGUF\x03\x00\x00\x00', 'latin1'), 'gguf'],
      [Buffer.from('PK\x03\x04rest', 'latin1'), 'zip'],
      [Buffer.from('\x93NUMPY\x01\x00', 'latin1'), 'numpy'],
      [Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0]), 'hdf5'],
      [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0]), 'xz'],
      [Buffer.from([0x1f, 0x8b, 8, 0]), 'gzip'],
      [Buffer.from('BZh91AY', 'latin1'), 'bz2'],
      [Buffer.from([0x80, 0x04, 0x95, 0, 0]), 'pickle'],
      [Buffer.from([0x80, 0x02, 0x7d, 0x71, 0]), 'pickle'],
    ];
    for (const [head, format] of cases) assert.equal(detectFormat(head, empty, 1000), format, format);
  });

  it('recognises safetensors by its length-prefixed JSON header', () => {
    const json = Buffer.from('{"__metadata__":{}}');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    assert.equal(detectFormat(Buffer.concat([len, json]), empty, 8 + json.length), 'safetensors');
    // a corrupt header length still reaches the safetensors reader (which reports it)
    len.writeBigUInt64LE(10_000n);
    assert.equal(detectFormat(Buffer.concat([len, json]), empty, 100), 'safetensors');
    // but a '{' alone at byte 8 with an impossible length is not enough
    assert.notEqual(detectFormat(Buffer.concat([len, Buffer.from('{ x')]), empty, 100), 'safetensors');
  });

  it('recognises protocol 0 pickles only with a plausible first opcode and a final STOP', () => {
    const p0 = Buffer.from("cos\nsystem\n(S'id'\ntR.", 'latin1');
    assert.equal(detectFormat(p0, p0.subarray(-4), p0.length), 'pickle');
    assert.equal(detectFormat(p0, Buffer.from('xyz'), p0.length), 'unknown');
  });

  it('recognises ONNX protobuf by walking ModelProto fields', () => {
    // ir_version=8, producer_name="x", graph=<len 3>
    const onnx = Buffer.from([0x08, 0x08, 0x12, 0x01, 0x78, 0x3a, 0x03, 0x0a, 0x01, 0x61]);
    assert.ok(looksLikeOnnx(onnx));
    assert.equal(detectFormat(onnx, empty, onnx.length), 'onnx');
    // field 9 with wire type 0 is not a ModelProto field
    assert.equal(looksLikeOnnx(Buffer.from([0x48, 0x01])), false);
    // text is not ONNX
    assert.equal(detectFormat(Buffer.from('hello world, this is text'), empty, 25), 'unknown');
  });

  it('calls random bytes unknown and never throws on tiny inputs', () => {
    for (let n = 0; n < 16; n++) assert.doesNotThrow(() => detectFormat(Buffer.alloc(n, 0x80), Buffer.alloc(n), n));
  });
});
