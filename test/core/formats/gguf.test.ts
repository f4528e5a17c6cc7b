import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding, Severity } from '../../../src/core/formats/findings';
import { BufferSource } from '../../../src/core/formats/source';
import {
  analyzeGguf,
  assertGgufLoadable,
  ggufFacts,
  inspectGguf,
  inspectGgufSource,
  readGgufHeader,
  validateGguf,
  type GgufReadOptions,
} from '../../../src/core/formats/gguf';
import { RefusedError } from '../../../src/core/util/errors';
import { buildGguf, type GgufWriteValue } from '../../fixtures/gguf/writer';
import { buildTinyLlama, TINY_LLAMA_SHAPE, type TinyLlamaModel, type TinyLlamaOptions } from '../../fixtures/gguf/tiny-llama';
import { truncated, withBytes, withU32, withU64 } from '../../fixtures/gguf/mutate';

async function inspectBytes(bytes: Buffer, options: GgufReadOptions = {}): Promise<Finding[]> {
  return (await inspectGgufSource(new BufferSource('model.gguf', bytes, 0), options)).findings;
}

function rules(findings: readonly Finding[]): string[] {
  return [...new Set(findings.map((f) => f.rule))].sort();
}

/** Asserts one finding with the rule (and severity) is present, and returns it. */
function expectFinding(findings: readonly Finding[], rule: string, severity?: Severity): Finding {
  const hit = findings.find((f) => f.rule === rule && (severity === undefined || f.severity === severity));
  assert.ok(hit, `expected ${rule}${severity ? ` (${severity})` : ''}, got ${JSON.stringify(findings.map((f) => `${f.severity} ${f.rule}`))}`);
  return hit;
}

/** node-llama-cpp's ESM entry, found from here whether the test runs from test/ (tsx) or out/test/ (compiled). */
function nodeLlamaCppEntry(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const entry = join(dir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
    if (existsSync(entry)) return entry;
    if (dirname(dir) === dir) throw new Error('node-llama-cpp is not installed');
  }
}

const built = new Map<string, TinyLlamaModel>();
/** Builds are deterministic, so each variant is built once per run (mutations copy the bytes). */
function tiny(options: TinyLlamaOptions = {}): TinyLlamaModel {
  const key = JSON.stringify(options, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  let model = built.get(key);
  if (!model) built.set(key, (model = buildTinyLlama(options)));
  return model;
}

/** A minimal llama-shaped metadata list for hand-built files. */
function baseKv(): Array<[string, GgufWriteValue]> {
  return [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['llama.context_length', { type: 'u32', value: 64 }],
    ['llama.embedding_length', { type: 'u32', value: 32 }],
    ['llama.block_count', { type: 'u32', value: 1 }],
    ['llama.feed_forward_length', { type: 'u32', value: 64 }],
    ['llama.attention.head_count', { type: 'u32', value: 2 }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: ['<unk>', '<s>', '</s>', 'a'] }],
  ];
}

describe('GGUF reader and validator', () => {
  describe('a valid tiny llama', () => {
    for (const options of [{}, { f16: true }, { weights: 'Q8_0' as const }, { version: 2 as const, fim: false }]) {
      it(`has no blocking findings and correct facts (${JSON.stringify(options)})`, async () => {
        const model = tiny(options);
        const result = await inspectGgufSource(new BufferSource('tiny.gguf', model.bytes, 0));
        assert.deepEqual(result.findings, []);
        assert.equal(result.loadable, true);
        const f = result.facts;
        const S = TINY_LLAMA_SHAPE;
        const perLayer = 2 * S.nEmbd + 2 * S.nEmbd * S.nEmbd + 2 * S.nEmbd * (S.nEmbd / S.nHead) * S.nHeadKv + 3 * S.nEmbd * S.nFf;
        assert.equal(f.parameterCount, 2 * S.nEmbd * model.info.vocabSize + S.nEmbd + S.nLayer * perLayer);
        assert.equal(f.version, options.version ?? 3);
        assert.equal(f.architecture, 'llama');
        assert.equal(f.name, 'sovereign-tiny-llama');
        assert.equal(f.vocabSize, model.info.vocabSize);
        assert.equal(f.contextLength, S.contextLength);
        assert.equal(f.embeddingLength, S.nEmbd);
        assert.equal(f.blockCount, S.nLayer);
        assert.equal(f.headCount, S.nHead);
        assert.equal(f.headCountKv, S.nHeadKv);
        assert.equal(f.feedForwardLength, S.nFf);
        assert.equal(f.tokenizerModel, 'llama');
        assert.equal(f.bosTokenId, model.info.ids.bos);
        assert.equal(f.eosTokenId, model.info.ids.eos);
        assert.equal(f.tensorCount, 3 + 9 * S.nLayer);
        assert.equal(f.metadataKeyCount, model.info.keys.length);
        assert.equal(f.alignment, 32);
        assert.equal(f.dataOffset, model.layout.dataOffset);
        const weights = model.info.weights;
        assert.equal(f.quantization, weights);
        assert.equal(f.tensorTypes.F32, weights === 'F32' ? f.tensorCount : 1 + 2 * S.nLayer);
        assert.equal(f.fim, model.info.fim);
        if (model.info.fim) {
          assert.deepEqual(f.fimTokens, { pre: 3, suf: 5, mid: 4, pad: 6, rep: 7, sep: 8 });
          assert.equal(f.fimSource, 'metadata');
          assert.equal(f.fimTokenTexts.pre, '<|fim_prefix|>');
        } else {
          assert.deepEqual(f.fimTokens, {});
        }
        assert.equal(f.chatTemplate, false);
      });
    }

    it('finds FIM tokens by their text when the metadata has no ids (as llama.cpp does)', () => {
      const model = tiny({ omitKeys: ['tokenizer.ggml.fim_pre_token_id', 'tokenizer.ggml.fim_suf_token_id', 'tokenizer.ggml.fim_mid_token_id', 'tokenizer.ggml.fim_pad_token_id', 'tokenizer.ggml.fim_rep_token_id', 'tokenizer.ggml.fim_sep_token_id'] });
      return readGgufHeader(new BufferSource('t', model.bytes, 0)).then(({ header }) => {
        const f = ggufFacts(header);
        assert.equal(f.fim, true);
        assert.equal(f.fimSource, 'token-text');
        assert.deepEqual(f.fimTokens, { pre: 3, mid: 4, suf: 5, pad: 6, rep: 7, sep: 8 });
      });
    });

    it('reads the same header through a tiny growing window, and never reads tensor data', async () => {
      const model = tiny({ chatTemplate: true });
      let maxEnd = 0;
      const source = new BufferSource('t', model.bytes, 0);
      const spy = { path: 't', size: source.size, depth: 0, readAt: (o: number, n: number) => { maxEnd = Math.max(maxEnd, Math.min(o + n, source.size)); return source.readAt(o, n); } };
      const small = await readGgufHeader(spy, { initialWindow: 64 });
      assert.equal(small.header.complete, true);
      assert.ok(maxEnd < model.layout.dataOffset * 4 + 64, `read up to ${maxEnd}`);
      const whole = await readGgufHeader(source);
      assert.deepEqual(ggufFacts(small.header), ggufFacts(whole.header));
      assert.equal(ggufFacts(whole.header).chatTemplate, true);
    });

    it('the analyzer puts a summary in the facts and locates findings in the file', async () => {
      const ok = await analyzeGguf(new BufferSource('tiny.gguf', tiny().bytes, 0), {});
      assert.equal(ok.format, 'gguf');
      assert.equal((ok.facts.summary as Record<string, unknown>).architecture, 'llama');
      const bad = await analyzeGguf(new BufferSource('bad.gguf', tiny({ omitKeys: ['llama.feed_forward_length'] }).bytes, 0), {});
      assert.match(expectFinding(bad.findings, 'gguf/missing-key', 'critical').location!, /^bad\.gguf: /);
    });
  });

  describe('structure (one mutation per rule)', () => {
    const model = tiny();
    const L = model.layout;
    const kv = (key: string) => L.kv.get(key)!;
    const tensor = (name: string) => L.tensors.get(name)!;

    it('gguf/bad-magic', async () => {
      expectFinding(await inspectBytes(withBytes(model.bytes, 0, 'GGUX')), 'gguf/bad-magic', 'high');
    });

    it('gguf/unsupported-version: 1, 4 and a byte-swapped 3', async () => {
      for (const v of [1, 4, 0x03000000]) expectFinding(await inspectBytes(withU32(model.bytes, 4, v)), 'gguf/unsupported-version', 'high');
    });

    it('gguf/truncated: the file ends inside a fixed-size field', async () => {
      const lastInfo = [...L.tensors.values()].at(-1)!;
      expectFinding(await inspectBytes(truncated(model.bytes, lastInfo.offsetOffset + 3)), 'gguf/truncated', 'high');
      expectFinding(await inspectBytes(truncated(model.bytes, 10)), 'gguf/truncated', 'high');
    });

    it('gguf/too-many-tensors and gguf/too-many-kv: inflated counts', async () => {
      for (const n of [1n << 62n, 100_000n]) {
        expectFinding(await inspectBytes(withU64(model.bytes, L.nTensorsOffset, n)), 'gguf/too-many-tensors', 'high');
        expectFinding(await inspectBytes(withU64(model.bytes, L.nKvOffset, n)), 'gguf/too-many-kv', 'high');
      }
    });

    it('gguf/length-out-of-bounds: inflated key, string and array lengths', async () => {
      const name = kv('general.name');
      for (const [offset, value] of [
        [name.keyLengthOffset, 1n << 63n],
        [name.valueOffset, BigInt(model.bytes.length)],
        [kv('tokenizer.ggml.tokens').valueOffset + 4, 1n << 40n],
        [tensor('output.weight').nameLengthOffset, 0xffffffffffffffffn],
      ] as const) {
        const findings = await inspectBytes(withU64(model.bytes, offset, value));
        expectFinding(findings, 'gguf/length-out-of-bounds', 'high');
      }
    });

    it('gguf/bad-value-type: a value type outside 0-12', async () => {
      expectFinding(await inspectBytes(withU32(model.bytes, kv('llama.block_count').typeOffset, 13)), 'gguf/bad-value-type', 'high');
      expectFinding(await inspectBytes(withU32(model.bytes, kv('tokenizer.ggml.scores').valueOffset, 0xffffffff)), 'gguf/bad-value-type', 'high');
    });

    it('gguf/nested-array (llama.cpp refuses) and gguf/array-too-deep', async () => {
      const inner: GgufWriteValue = { type: 'array', itemType: 'u8', values: [1, 2] };
      const nested = buildGguf({ kv: [...baseKv(), ['x.nested', { type: 'array', itemType: 'array', values: [inner, inner] }]], tensors: [] });
      const n = await inspectBytes(nested.bytes);
      expectFinding(n, 'gguf/nested-array', 'medium');
      // (the bare header has an SPM vocabulary without byte tokens: that rule is tested on its own)
      assert.ok(!n.some((f) => f.rule !== 'gguf/spm-missing-byte-tokens' && (f.severity === 'high' || f.severity === 'critical')), JSON.stringify(n));
      let deep: GgufWriteValue = inner;
      for (let i = 0; i < 4; i++) deep = { type: 'array', itemType: 'array', values: [deep] };
      expectFinding(await inspectBytes(buildGguf({ kv: [...baseKv(), ['x.deep', deep]], tensors: [] }).bytes), 'gguf/array-too-deep', 'high');
    });

    it('gguf/header-too-large: metadata past the bound is not read', async () => {
      const findings = await inspectBytes(model.bytes, { maxHeaderBytes: 4096, initialWindow: 1024 });
      expectFinding(findings, 'gguf/header-too-large', 'high');
    });

    it('gguf/empty-key, gguf/invalid-utf8, gguf/duplicate-key', async () => {
      const empty = buildGguf({ kv: [...baseKv(), ['', { type: 'u8', value: 1 }]], tensors: [] });
      expectFinding(await inspectBytes(empty.bytes), 'gguf/empty-key', 'high');
      const nameKey = kv('general.name').keyLengthOffset + 8;
      expectFinding(await inspectBytes(withBytes(model.bytes, nameKey, Buffer.from([0xff, 0xfe]))), 'gguf/invalid-utf8', 'high');
      // "tokenizer.ggml.eos_token_id" -> "tokenizer.ggml.bos_token_id": same length, layout intact.
      const eos = kv('tokenizer.ggml.eos_token_id').keyLengthOffset + 8 + 'tokenizer.ggml.'.length;
      expectFinding(await inspectBytes(withBytes(model.bytes, eos, 'bos')), 'gguf/duplicate-key', 'high');
    });

    it('gguf/bad-tensor-name, gguf/duplicate-tensor', async () => {
      const t = (name: string) => ({ name, dims: [32], type: 'F32' as const, data: new Float32Array(32) });
      expectFinding(await inspectBytes(buildGguf({ kv: baseKv(), tensors: [t('x'.repeat(64))] }).bytes), 'gguf/bad-tensor-name', 'high');
      expectFinding(await inspectBytes(buildGguf({ kv: baseKv(), tensors: [t('')] }).bytes), 'gguf/bad-tensor-name', 'high');
      const blk1 = tensor('blk.1.attn_q.weight').nameLengthOffset + 8;
      expectFinding(await inspectBytes(withBytes(model.bytes, blk1, 'blk.0')), 'gguf/duplicate-tensor', 'high');
    });

    it('gguf/too-many-dims, gguf/bad-dimension, gguf/element-count-overflow', async () => {
      const q = tensor('blk.0.attn_q.weight');
      expectFinding(await inspectBytes(withU32(model.bytes, q.nDimsOffset, 5)), 'gguf/too-many-dims', 'high');
      expectFinding(await inspectBytes(withU64(model.bytes, q.dimsOffset, 0n)), 'gguf/bad-dimension', 'high');
      expectFinding(await inspectBytes(withU64(model.bytes, q.dimsOffset + 8, 1n << 63n)), 'gguf/bad-dimension', 'high');
      const huge = withU64(withU64(model.bytes, q.dimsOffset, 1n << 32n), q.dimsOffset + 8, 1n << 32n);
      expectFinding(await inspectBytes(huge), 'gguf/element-count-overflow', 'high');
    });

    it('gguf/unknown-tensor-type, gguf/removed-tensor-type, gguf/block-size-mismatch, gguf/tensor-size-overflow', async () => {
      const q = tensor('blk.0.attn_q.weight');
      for (const id of [43, 0xffff]) expectFinding(await inspectBytes(withU32(model.bytes, q.typeOffset, id)), 'gguf/unknown-tensor-type', 'high');
      for (const id of [4, 5, 31, 36]) expectFinding(await inspectBytes(withU32(model.bytes, q.typeOffset, id)), 'gguf/removed-tensor-type', 'high');
      expectFinding(await inspectBytes(withU32(model.bytes, q.typeOffset, 12 /* Q4_K: 256-element blocks */)), 'gguf/block-size-mismatch', 'high');
      // 2^62 F64 elements: the count fits int64, the byte size (2^65) does not fit 64 bits.
      const big = withU32(withU64(withU64(model.bytes, q.dimsOffset, 1n << 31n), q.dimsOffset + 8, 1n << 31n), q.typeOffset, 28);
      expectFinding(await inspectBytes(big), 'gguf/tensor-size-overflow', 'high');
    });

    it('gguf/tensor-misaligned, gguf/tensor-out-of-bounds, gguf/tensor-overlap, gguf/tensor-offset-gap', async () => {
      const names = [...L.tensors.keys()];
      const last = tensor(names.at(-1)!);
      const second = tensor(names[1]);
      const relative = (name: string) => BigInt(L.tensors.get(name)!.dataOffset - L.dataOffset);
      expectFinding(await inspectBytes(withU64(model.bytes, second.offsetOffset, relative(names[1]) + 4n)), 'gguf/tensor-misaligned', 'high');
      expectFinding(await inspectBytes(withU64(model.bytes, last.offsetOffset, 1n << 40n)), 'gguf/tensor-out-of-bounds', 'high');
      expectFinding(await inspectBytes(truncated(model.bytes, model.bytes.length - 256)), 'gguf/tensor-out-of-bounds', 'high');
      expectFinding(await inspectBytes(withU64(model.bytes, second.offsetOffset, 0n)), 'gguf/tensor-overlap', 'high');
      // Room after the last tensor, and the last tensor moved into it: in bounds, aligned, but not packed.
      const roomy = Buffer.concat([model.bytes, Buffer.alloc(64)]);
      const gap = await inspectBytes(withU64(roomy, last.offsetOffset, relative(names.at(-1)!) + 32n));
      expectFinding(gap, 'gguf/tensor-offset-gap', 'medium');
      assert.deepEqual(rules(gap), ['gguf/tensor-offset-gap']);
    });

    it('gguf/bad-alignment: not u32, not a power of two, too large', async () => {
      expectFinding(await inspectBytes(tiny({ extraKv: [['general.alignment', { type: 'u64', value: 32n }]] }).bytes), 'gguf/bad-alignment', 'high');
      const a = kv('general.alignment').valueOffset;
      expectFinding(await inspectBytes(withU32(model.bytes, a, 48)), 'gguf/bad-alignment', 'high');
      expectFinding(await inspectBytes(withU32(model.bytes, a, 0)), 'gguf/bad-alignment', 'high');
      expectFinding(await inspectBytes(withU32(model.bytes, a, 1 << 20)), 'gguf/bad-alignment', 'high');
    });
  });

  describe('tokenizer and architecture', () => {
    it('gguf/token-id-out-of-range for every special id', async () => {
      const vocab = tiny().info.vocabSize;
      for (const key of ['bos', 'eos', 'eot', 'padding', 'unknown', 'fim_pre', 'fim_suf', 'fim_mid', 'fim_pad', 'fim_rep', 'fim_sep', 'separator']) {
        const findings = await inspectBytes(tiny({ extraKv: [[`tokenizer.ggml.${key}_token_id`, { type: 'u32', value: vocab }]] }).bytes);
        assert.match(expectFinding(findings, 'gguf/token-id-out-of-range', 'high').message, new RegExp(`${key}_token_id is ${vocab}`));
      }
    });

    it('gguf/token-array-mismatch: scores or token types shorter than the vocabulary', async () => {
      for (const key of ['tokenizer.ggml.scores', 'tokenizer.ggml.token_type']) {
        const findings = await inspectBytes(tiny({ extraKv: [[key, { type: 'array', itemType: 'i32', values: [1, 2, 3] }]] }).bytes);
        expectFinding(findings, 'gguf/token-array-mismatch', 'high');
      }
    });

    it('gguf/wrong-key-type: llama.cpp reads hyperparameters and token ids as strict u32', async () => {
      expectFinding(await inspectBytes(tiny({ extraKv: [['llama.feed_forward_length', { type: 'string', value: '128' }]] }).bytes), 'gguf/wrong-key-type', 'high');
      expectFinding(await inspectBytes(tiny({ extraKv: [['tokenizer.ggml.bos_token_id', { type: 'i32', value: 1 }]] }).bytes), 'gguf/wrong-key-type', 'high');
      expectFinding(await inspectBytes(tiny({ extraKv: [['general.architecture', { type: 'u32', value: 1 }]] }).bytes), 'gguf/wrong-key-type', 'high');
    });

    it('gguf/missing-key: critical where llama.cpp aborts, high where it refuses', async () => {
      for (const key of ['llama.feed_forward_length', 'llama.attention.head_count']) {
        expectFinding(await inspectBytes(tiny({ omitKeys: [key] }).bytes), 'gguf/missing-key', 'critical');
      }
      for (const key of ['llama.context_length', 'llama.embedding_length', 'llama.block_count', 'llama.attention.layer_norm_rms_epsilon', 'general.architecture', 'tokenizer.ggml.model', 'tokenizer.ggml.tokens']) {
        const findings = await inspectBytes(tiny({ omitKeys: [key] }).bytes);
        assert.match(expectFinding(findings, 'gguf/missing-key', 'high').message, new RegExp(key.replaceAll('.', '\\.')));
      }
    });

    it('gguf/bad-hyperparameter: values llama.cpp GGML_ASSERTs on', async () => {
      const u32 = (value: number): GgufWriteValue => ({ type: 'u32', value });
      for (const extraKv of [
        [['llama.block_count', u32(0)]],
        [['llama.block_count', u32(513)]],
        [['llama.attention.head_count', u32(0)]],
        [['llama.feed_forward_length', u32(0)]],
        [['llama.expert_count', u32(2)], ['llama.expert_used_count', u32(4)]],
        [['llama.expert_count', u32(2048)], ['llama.expert_used_count', u32(2)]],
        // grouped-query attention that does not divide: found by the engine's crash test
        [['llama.attention.head_count_kv', u32(3)]],
        [['llama.attention.head_count_kv', u32(0)]],
      ] as Array<Array<[string, GgufWriteValue]>>) {
        expectFinding(await inspectBytes(tiny({ extraKv }).bytes), 'gguf/bad-hyperparameter', 'critical');
      }
      assert.ok(!rules(await inspectBytes(tiny({ extraKv: [['llama.attention.head_count_kv', u32(4)]] }).bytes)).includes('gguf/bad-hyperparameter'));
    });

    it('gguf/spm-missing-byte-tokens: an SPM vocabulary without <0x0A> terminates llama.cpp', async () => {
      const tokens = ['<unk>', '<s>', '</s>', ...'abcdefghijklmnopqrstuvwxyz'.split('')];
      const extraKv: Array<[string, GgufWriteValue]> = [
        ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: tokens }],
        ['tokenizer.ggml.scores', { type: 'array', itemType: 'f32', values: tokens.map((_, i) => -i) }],
        ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', values: tokens.map((_, i) => (i < 3 ? 3 : 1)) }],
      ];
      const omitKeys = ['tokenizer.ggml.fim_pre_token_id', 'tokenizer.ggml.fim_suf_token_id', 'tokenizer.ggml.fim_mid_token_id', 'tokenizer.ggml.fim_pad_token_id', 'tokenizer.ggml.fim_rep_token_id', 'tokenizer.ggml.fim_sep_token_id', 'tokenizer.ggml.eot_token_id', 'tokenizer.ggml.padding_token_id'];
      expectFinding(await inspectBytes(tiny({ extraKv, omitKeys }).bytes), 'gguf/spm-missing-byte-tokens', 'critical');
      assert.ok(!rules(await inspectBytes(tiny().bytes)).includes('gguf/spm-missing-byte-tokens'), 'the tiny model has byte tokens');
    });

    it('gguf/unknown-architecture is medium; a known one without our table is not flagged', async () => {
      const unknown = await inspectBytes(tiny({ extraKv: [['general.architecture', { type: 'string', value: 'llamax' }]] }).bytes);
      expectFinding(unknown, 'gguf/unknown-architecture', 'medium');
      const mamba = await inspectBytes(tiny({ extraKv: [['general.architecture', { type: 'string', value: 'mamba' }]] }).bytes);
      assert.deepEqual(rules(mamba), []);
    });

    it('validateGguf works on a header alone, with the file size given', async () => {
      const model = tiny();
      const { header } = await readGgufHeader(new BufferSource('t', model.bytes, 0));
      assert.deepEqual(validateGguf(header, model.bytes.length), []);
      expectFinding(validateGguf(header, model.bytes.length - 1), 'gguf/tensor-out-of-bounds', 'high');
    });
  });

  describe('on disk, and why llama.cpp needs the gate', () => {
    let dir: string;
    before(async () => { dir = await mkdtemp(join(tmpdir(), 'sovereign-gguf-')); });
    after(async () => rm(dir, { recursive: true, force: true }));

    it('inspectGguf / assertGgufLoadable accept the tiny model and refuse a broken one', async () => {
      const good = join(dir, 'good.gguf');
      await writeFile(good, tiny({ chatTemplate: true }).bytes);
      const ok = await inspectGguf(good);
      assert.equal(ok.loadable, true);
      assert.equal((await assertGgufLoadable(good)).chatTemplate, true);
      const bad = join(dir, 'bad.gguf');
      await writeFile(bad, tiny({ omitKeys: ['llama.feed_forward_length'] }).bytes);
      await assert.rejects(assertGgufLoadable(bad), (err: unknown) => err instanceof RefusedError && /critical gguf\/missing-key/.test(err.message) && err.exitCode === 1);
    });

    it('a GGUF without llama.feed_forward_length ABORTS real node-llama-cpp (exit 134); the validator refuses it first', async function () {
      this.timeout(60_000);
      const path = join(dir, 'no-ffn.gguf');
      await writeFile(path, tiny({ omitKeys: ['llama.feed_forward_length'] }).bytes);
      const findings = (await inspectGguf(path)).findings;
      expectFinding(findings, 'gguf/missing-key', 'critical');
      // Only ever in a child process: the abort takes the whole process down.
      // A script file (not -e): node-llama-cpp re-runs the process arguments to test its binary.
      const entry = pathToFileURL(nodeLlamaCppEntry()).href;
      const script = join(dir, 'load.mjs');
      await writeFile(script, `import { getLlama } from ${JSON.stringify(entry)};
        const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, logLevel: 'disabled' });
        await llama.loadModel({ modelPath: process.argv[2] });
        console.log('loaded');`);
      const child = spawnSync(process.execPath, [script, path], { encoding: 'utf8', timeout: 50_000 });
      assert.ok(child.status === 134 || child.signal === 'SIGABRT', `expected an abort, got status ${child.status} signal ${child.signal}: ${child.stderr}`);
      assert.doesNotMatch(child.stdout, /loaded/);
      assert.match(child.stderr, /GGML_ASSERT/);
    });
  });
});
