import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { analyzeSource, BufferSource, FileSource, type ByteSource, type FormatAnalysis } from '../../../src/core/formats';
import { checkLocationText, inspectOnnx, MAX_SUBGRAPH_DEPTH, type OnnxFacts } from '../../../src/core/formats/onnx';
import { walkModel } from '../../../src/core/formats/onnx/walk';
import { isBlocking } from '../../../src/core/formats/findings';
import {
  customOpModelProto,
  encodeOnnxModel,
  externalDataModelProto,
  floatTensor,
  localFunctionModelProto,
  microsoftOpModelProto,
  subgraphCustomOpModelProto,
  writeExternalDataVariants,
  writeMlpClassifier,
  writeOnnxModel,
  type ExternalDataVariant,
} from '../../fixtures/onnx';

async function analyzeFile(path: string): Promise<FormatAnalysis> {
  const source = await FileSource.open(path);
  try {
    return await analyzeSource(source);
  } finally {
    await source.close();
  }
}

function rules(a: FormatAnalysis): string[] {
  return a.findings.map((f) => f.rule);
}

function blocking(a: FormatAnalysis): string[] {
  return a.findings.filter((f) => isBlocking(f.severity)).map((f) => `${f.rule}: ${f.message}`);
}

/** Nested graph -> node -> attribute -> graph ... `levels` times, encoded by hand (no encoder recursion). */
function deeplyNestedModel(levels: number): Buffer {
  // Field tags: ModelProto.graph=7, GraphProto.node=1, NodeProto.attribute=5, AttributeProto.g=6 (all wire type 2).
  const tags = [0x0a, 0x2a, 0x32]; // graph->node, node->attribute, attribute->g, repeating
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return out;
  };
  const lengths: number[] = new Array(levels * 3);
  let len = 0;
  for (let i = levels * 3 - 1; i >= 0; i--) {
    lengths[i] = len;
    len += 1 + varint(len).length;
  }
  const bytes: number[] = [0x08, 0x08, 0x3a, ...varint(len)];
  for (let i = 0; i < levels * 3; i++) bytes.push(tags[i % 3], ...varint(lengths[i]));
  return Buffer.from(bytes);
}

describe('ONNX reader', function () {
  this.timeout(60_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-onnx-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the classifier: opsets, inputs/outputs with shapes, initializers, operators; no findings', async () => {
    const info = await writeMlpClassifier(join(dir, 'mlp.onnx'));
    const a = await analyzeFile(info.path);
    assert.equal(a.format, 'onnx');
    assert.deepEqual(a.findings, []);
    const facts = a.facts as OnnxFacts;
    assert.equal(facts.irVersion, 8);
    assert.equal(facts.producerName, 'sovereign-test-fixtures');
    assert.deepEqual(facts.opsets, { 'ai.onnx': 13 });
    assert.deepEqual(facts.inputs, [{ name: 'features', kind: 'tensor', elemType: 'float32', shape: ['N', 8] }]);
    assert.deepEqual(facts.outputs.map((o) => [o.name, o.elemType, o.shape]), [
      ['probabilities', 'float32', ['N', 2]],
      ['label', 'int64', ['N']],
    ]);
    const h = info.weights.hidden;
    assert.equal(facts.initializers.count, 6);
    assert.equal(facts.initializers.bytes, 4 * (8 + 8 + 8 * h + h + h * 2 + 2));
    assert.equal(facts.initializers.external, 0);
    assert.equal(facts.nodeCount, 7);
    assert.deepEqual(facts.opTypes, { Gemm: 2, ArgMax: 1, Mul: 1, Relu: 1, Softmax: 1, Sub: 1 });
    assert.deepEqual(facts.customDomains, []);
    assert.equal(facts.metadata.task, 'binary-classification');
    assert.equal(facts.summary.inputs, 'features float32[N,8]');
    assert.equal(facts.summary.opsets, 'ai.onnx 13');
    assert.equal(facts.summary.custom_domains, 'none');
  });

  it('accepts honest external data, which real onnxruntime-node also loads', async () => {
    const info = await writeMlpClassifier(join(dir, 'ext', 'model.onnx'), { externalDataLocation: 'weights/model.bin' });
    const a = await analyzeFile(info.path);
    assert.deepEqual(a.findings, []);
    const facts = a.facts as OnnxFacts;
    assert.equal(facts.initializers.external, 6);
    assert.deepEqual(facts.externalData, { files: [{ location: 'weights/model.bin', size: info.externalData!.bytes, tensors: 6 }], tensors: 6 });
    const session = await ort.InferenceSession.create(info.path, { intraOpNumThreads: 1, executionProviders: ['cpu'] });
    const out = await session.run({ features: new ort.Tensor('float32', new Float32Array(8), [1, 8]) });
    assert.equal((out.probabilities.data as Float32Array).length, 2);
    await session.release();
  });

  it('flags every hostile external-data variant with a blocking finding', async () => {
    const expected: Record<ExternalDataVariant, string> = {
      parent: 'onnx/external-data-traversal',
      absolute: 'onnx/external-data-absolute',
      nested: 'onnx/external-data-traversal',
      backslash: 'onnx/external-data-traversal',
      'symlink-file': 'onnx/external-data-symlink',
      'symlink-dir': 'onnx/external-data-symlink',
      missing: 'onnx/external-data-missing',
      'out-of-range': 'onnx/external-data-out-of-bounds',
      'negative-offset': 'onnx/external-data-bad-entry',
      'bad-number': 'onnx/external-data-bad-entry',
      'empty-location': 'onnx/external-data-bad-entry',
      'no-location': 'onnx/external-data-bad-entry',
      'length-mismatch': 'onnx/tensor-size-mismatch',
    };
    const variants = await writeExternalDataVariants(join(dir, 'hostile'));
    assert.equal(variants.length, Object.keys(expected).length);
    for (const v of variants) {
      const a = await analyzeFile(v.modelPath);
      const hit = a.findings.find((f) => f.rule === expected[v.variant]);
      assert.ok(hit, `${v.variant}: expected ${expected[v.variant]}, got ${JSON.stringify(a.findings)}`);
      assert.equal(hit.severity, 'high', v.variant);
    }
  });

  it('checks locations lexically: relative and inside the folder after normalisation', () => {
    assert.equal(checkLocationText('weights.bin').ok, true);
    assert.equal(checkLocationText('./a/b.bin').ok, true);
    const inside = checkLocationText('a/../b.bin');
    assert.ok(inside.ok && inside.dotdot);
    for (const bad of ['../x', 'a/../../x', 'a/b/../../../x', '/etc/passwd', '\\\\server\\share\\x', 'C:\\x', 'c:x', '..\\x', 'a\\..\\..\\x', 'x\0y', '.', 'a/..', '']) {
      assert.equal(checkLocationText(bad).ok, false, JSON.stringify(bad));
    }
  });

  it('flags a low-severity ".." that stays inside, and still loads nothing through a symlinked component', async () => {
    const d = join(dir, 'dotdot');
    await writeOnnxModel(join(d, 'model.onnx'), externalDataModelProto({ location: 'sub/../w.bin' }));
    await writeFile(join(d, 'w.bin'), Buffer.alloc(16));
    await writeFile(join(d, 'sub'), ''); // 'sub' is a file, so the OS cannot walk sub/..
    const a = await analyzeFile(join(d, 'model.onnx'));
    assert.ok(rules(a).includes('onnx/external-data-dotdot'));
    assert.ok(rules(a).includes('onnx/external-data-missing'));
  });

  it('cannot resolve external data inside an archive (depth > 0) and says so', async () => {
    const bytes = encodeOnnxModel(externalDataModelProto({ location: 'w.bin' }));
    const a = await analyzeSource(new BufferSource('model.zip!model.onnx', bytes, 1));
    assert.equal(a.format, 'onnx');
    assert.deepEqual(rules(a), ['onnx/external-data-unresolvable']);
  });

  it('flags custom operator domains as high, not com.microsoft contrib ops nor model-local functions', async () => {
    const custom = await analyzeSource(new BufferSource('custom.onnx', encodeOnnxModel(customOpModelProto('com.example.evil', 'Backdoor')), 0));
    assert.deepEqual(rules(custom), ['onnx/custom-op-domain']);
    assert.equal(custom.findings[0].severity, 'high');
    assert.match(custom.findings[0].message, /com\.example\.evil.*Backdoor/);
    assert.deepEqual((custom.facts as OnnxFacts).customDomains, ['com.example.evil']);

    const contrib = await analyzeSource(new BufferSource('contrib.onnx', encodeOnnxModel(microsoftOpModelProto()), 0));
    assert.deepEqual(contrib.findings, []);
    assert.deepEqual((contrib.facts as OnnxFacts).opTypes, { 'com.microsoft.Gelu': 1 });

    const local = await analyzeSource(new BufferSource('fn.onnx', encodeOnnxModel(localFunctionModelProto()), 0));
    assert.deepEqual(local.findings, []);
    assert.deepEqual((local.facts as OnnxFacts).functions, ['local.functions.DoubleRelu']);

    const extensions = await analyzeSource(new BufferSource('ext.onnx', encodeOnnxModel(customOpModelProto('ai.onnx.contrib', 'StringRegexReplace')), 0));
    assert.deepEqual(rules(extensions), ['onnx/custom-op-domain']);
  });

  it('finds a custom op hidden in an If subgraph, and bounds subgraph depth', async () => {
    const shallow = await analyzeSource(new BufferSource('sub.onnx', encodeOnnxModel(subgraphCustomOpModelProto('com.example.hidden', 3)), 0));
    assert.deepEqual(rules(shallow), ['onnx/custom-op-domain']);
    const facts = shallow.facts as OnnxFacts;
    assert.equal(facts.maxSubgraphDepth, 3);
    assert.equal(facts.subgraphs, 6); // then + else at each of the 3 levels
    assert.deepEqual(facts.inputs.map((i) => i.name), ['X', 'cond']);

    // Protobuf's own nesting limit (100 messages, as in C++ protobuf) stops deeper files before the walk...
    const deep = await analyzeSource(new BufferSource('deep.onnx', encodeOnnxModel(subgraphCustomOpModelProto('com.example.hidden', MAX_SUBGRAPH_DEPTH + 5)), 0));
    assert.deepEqual(rules(deep), ['onnx/nesting-too-deep']);
    // ...and the walker bounds its own depth too.
    const walked = walkModel(subgraphCustomOpModelProto('com.example.hidden', 3), {}, 2);
    assert.equal(walked.maxDepth, 2);
    assert.equal(walked.tooDeep.length, 2);
  });

  it('survives pathological nesting (100,000 levels) with a finding, not a crash', async () => {
    for (const levels of [MAX_SUBGRAPH_DEPTH + 2, 100_000]) {
      const a = await analyzeSource(new BufferSource('nested.onnx', deeplyNestedModel(levels), 0));
      assert.equal(a.format, 'onnx');
      assert.ok(blocking(a).length > 0, `${levels}: ${JSON.stringify(a.findings)}`);
    }
  });

  it('flags inline tensors whose raw_data does not match their shape', async () => {
    const proto = customOpModelProto('', 'Identity');
    const t = floatTensor('W', [4], [1, 2, 3, 4]);
    t.dims = [5];
    proto.graph!.initializer = [t];
    const a = await analyzeSource(new BufferSource('m.onnx', encodeOnnxModel(proto), 0));
    assert.deepEqual(rules(a), ['onnx/tensor-size-mismatch']);
  });

  it('refuses a duplicated single message field (C++ protobuf merges the copies, protobufjs keeps the last)', async () => {
    const bytes = encodeOnnxModel(microsoftOpModelProto());
    const graphOnly = encodeOnnxModel({ graph: { name: 'second', node: [{ opType: 'Evil', domain: 'x.y' }] } });
    const a = await analyzeSource(new BufferSource('dup.onnx', Buffer.concat([bytes, graphOnly]), 0));
    assert.deepEqual(rules(a), ['onnx/duplicate-field']);
  });

  it('refuses wire-type confusion that would hide a node from protobufjs but not from onnxruntime', async () => {
    // A graph whose first field is node (1) written as a varint: C++ protobuf skips it as unknown, protobufjs
    // would read a length and swallow the real custom-op node that follows.
    const hidden = encodeOnnxModel({ graph: { node: [{ opType: 'Evil', domain: 'x.y', input: ['X'], output: ['Y'] }] } }).subarray(2);
    const graph = Buffer.concat([Buffer.from([0x08, hidden.length]), hidden]);
    const model = Buffer.concat([Buffer.from([0x08, 0x08, 0x3a, graph.length]), graph]);
    const a = await analyzeSource(new BufferSource('confused.onnx', model, 0));
    assert.equal(a.format, 'onnx');
    assert.equal(a.findings[0].rule, 'onnx/malformed');
    assert.match(a.findings[0].message, /wire type 0/);
  });

  it('refuses names that are not valid UTF-8 (an overlong "." could read as com.microsoft)', async () => {
    const proto = customOpModelProto('com\u0001microsoft', 'Evil');
    const bytes = encodeOnnxModel(proto);
    const at = bytes.indexOf(Buffer.from('com\u0001microsoft'));
    const patched = Buffer.concat([bytes.subarray(0, at + 3), Buffer.from([0xc0]), bytes.subarray(at + 4)]); // same length: \u0001 -> 0xC0
    const a = await analyzeSource(new BufferSource('utf8.onnx', patched, 0));
    assert.deepEqual(rules(a), ['onnx/invalid-utf8']);
  });

  it('reports truncated and corrupt files as malformed (high) and never throws', async () => {
    const bytes = await readFile((await writeMlpClassifier(join(dir, 'trunc.onnx'))).path);
    for (const cut of [10, 100, bytes.length - 1]) {
      const a = await analyzeSource(new BufferSource('t.onnx', bytes.subarray(0, cut), 0));
      if (a.format !== 'onnx') continue; // too short to be detected as ONNX at all
      assert.ok(rules(a).includes('onnx/malformed'), `cut ${cut}: ${JSON.stringify(a.findings)}`);
    }
    // ir_version, then a graph with an invalid wire type inside
    const corrupt = Buffer.from([0x08, 0x08, 0x3a, 0x02, 0x0f, 0x00]);
    const a = await analyzeSource(new BufferSource('c.onnx', corrupt, 0));
    assert.equal(a.format, 'onnx');
    assert.ok(blocking(a).length > 0);
  });

  it('refuses files over the 2 GiB protobuf limit without reading them', async () => {
    const head = encodeOnnxModel(microsoftOpModelProto());
    let readBytes = 0;
    const huge: ByteSource = {
      path: 'huge.onnx',
      size: 3 * 2 ** 30,
      depth: 0,
      async readAt(offset: number, length: number) {
        readBytes += length;
        if (length > 1 << 20) throw new Error('the reader must not load a file over the limit');
        return offset < head.length ? head.subarray(offset, offset + length) : Buffer.alloc(Math.min(length, 16));
      },
    };
    const a = await analyzeSource(huge);
    assert.equal(a.format, 'onnx');
    assert.deepEqual(rules(a), ['onnx/too-large']);
    assert.ok(readBytes < 1 << 20);
  });

  it('flags unknown top-level fields, undeclared domains and a missing ir_version', async () => {
    const proto = microsoftOpModelProto();
    proto.opsetImport = [{ domain: '', version: 13 }];
    proto.irVersion = 0;
    const extra = Buffer.from([0xf8, 0x01, 0x01]); // field 31, varint 1
    const a = await analyzeSource(new BufferSource('m.onnx', Buffer.concat([encodeOnnxModel(proto), extra]), 0));
    assert.ok(rules(a).includes('onnx/unknown-field'));
    assert.ok(rules(a).includes('onnx/undeclared-domain'));
    const noIr = await analyzeSource(new BufferSource('m.onnx', encodeOnnxModel(proto), 0));
    assert.equal(noIr.format, 'onnx');
    assert.ok(rules(noIr).includes('onnx/malformed'));
  });

  it('keeps hostile names as plain data (no prototype pollution) and caps repeated findings', async () => {
    const proto = customOpModelProto('__proto__', 'constructor');
    proto.metadataProps = [{ key: '__proto__', value: 'x' }];
    proto.graph!.initializer = Array.from({ length: 100 }, (_, i) => ({ ...floatTensor(`t${i}`, [1], [1]), dims: [2] }));
    const a = await analyzeSource(new BufferSource('m.onnx', encodeOnnxModel(proto), 0));
    const facts = a.facts as OnnxFacts;
    assert.equal(Object.getPrototypeOf(facts.metadata), Object.prototype);
    assert.equal(facts.metadata['__proto__'], 'x');
    assert.equal(facts.opsets['__proto__'], 1);
    assert.deepEqual(facts.customDomains, ['__proto__']);
    const mismatches = a.findings.filter((f) => f.rule === 'onnx/tensor-size-mismatch');
    assert.equal(mismatches.length, 21, 'twenty listed, then one "more" summary');
    assert.match(mismatches[20].message, /80 more/);
  });

  it('inspectOnnx(path) gives typed facts, or undefined facts and a finding for a non-ONNX file', async () => {
    const info = await writeMlpClassifier(join(dir, 'api.onnx'));
    const ok = await inspectOnnx(info.path);
    assert.equal(ok.facts?.inputs[0].name, 'features');
    assert.deepEqual(ok.findings, []);
    const junk = join(dir, 'junk.onnx');
    await writeFile(junk, Buffer.from([0x08, 0x08, 0x3a, 0x7f]));
    const bad = await inspectOnnx(junk);
    assert.equal(bad.facts, undefined);
    assert.deepEqual(bad.findings.map((f) => f.rule), ['onnx/malformed']);
  });
});
