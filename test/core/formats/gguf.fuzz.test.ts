import * as assert from 'node:assert/strict';
import { analyzeSource } from '../../../src/core/formats';
import { BufferSource } from '../../../src/core/formats/source';
import { isBlocking, SEVERITIES } from '../../../src/core/formats/findings';
import { buildTinyLlama, mulberry32 } from '../../fixtures/gguf/tiny-llama';

/**
 * Random mutations of the tiny llama through the real entry point (`analyzeSource`). Seeded, so a failure
 * names the seed and iteration that reproduce it: SOVEREIGN_FUZZ_SEED=<seed> reruns the same sequence.
 * Bounded: ITERATIONS or TIME_BUDGET_MS, whichever comes first (the machine is shared and loaded).
 */
const SEED = Number(process.env.SOVEREIGN_FUZZ_SEED ?? 0x9e3779b9);
const ITERATIONS = Number(process.env.SOVEREIGN_FUZZ_ITERATIONS ?? 4000);
const TIME_BUDGET_MS = 12_000;
const MIN_ITERATIONS = 300;
const PER_INPUT_LIMIT_MS = 1000;

type Mutation = { kind: string; bytes: Buffer; mustBlock: boolean };

describe('GGUF fuzz (seeded mutations of the tiny llama)', function () {
  this.timeout(TIME_BUDGET_MS + 20_000);
  const model = buildTinyLlama({ f16: true, chatTemplate: true });
  const L = model.layout;
  const original = model.bytes;
  const lastTensor = [...L.tensors.values()].at(-1)!;
  const dataEnd = lastTensor.dataOffset + lastTensor.byteLength;
  // Every length field the writer recorded: key lengths, string values, array lengths, tensor names.
  const lengthFields: number[] = [];
  for (const [key, kv] of L.kv) {
    lengthFields.push(kv.keyLengthOffset);
    const type = original.readUInt32LE(kv.typeOffset);
    if (type === 8) lengthFields.push(kv.valueOffset);
    if (type === 9) lengthFields.push(kv.valueOffset + 4);
    void key;
  }
  for (const t of L.tensors.values()) lengthFields.push(t.nameLengthOffset);
  const tensorFields = [...L.tensors.values()].flatMap((t) => [t.nDimsOffset, t.dimsOffset, t.typeOffset, t.offsetOffset]);

  function mutate(rand: () => number): Mutation {
    const int = (n: number) => Math.floor(rand() * n);
    const b = Buffer.from(original);
    const u64s = [0n, 1n, 0xffn, 0xffffffffn, 1n << 32n, 1n << 62n, 1n << 63n, (1n << 64n) - 1n];
    switch (int(6)) {
      case 0: { // byte flips in the header (past the magic, so the file is still detected as GGUF)
        const flips = 1 + int(8);
        for (let i = 0; i < flips; i++) b[4 + int(L.dataOffset - 4)] = int(256);
        return { kind: `flip x${flips}`, bytes: b, mustBlock: false };
      }
      case 1: { // truncation anywhere
        const length = 4 + int(original.length - 4);
        return { kind: `truncate to ${length}`, bytes: b.subarray(0, length), mustBlock: length < dataEnd };
      }
      case 2: { // a length field inflated past the end of the file
        const at = lengthFields[int(lengthFields.length)];
        const value = BigInt(original.length) + BigInt(int(1 << 30)) + (rand() < 0.3 ? 1n << 62n : 0n);
        b.writeBigUInt64LE(value, at);
        return { kind: `length@${at}=${value}`, bytes: b, mustBlock: true };
      }
      case 3: { // a length field nudged by a little (parsing desynchronises)
        const at = lengthFields[int(lengthFields.length)];
        const value = original.readBigUInt64LE(at) + BigInt(1 + int(64));
        b.writeBigUInt64LE(value, at);
        return { kind: `length@${at}+=`, bytes: b, mustBlock: false };
      }
      case 4: { // count inflation
        const at = rand() < 0.5 ? L.nTensorsOffset : L.nKvOffset;
        const value = rand() < 0.5 ? original.readBigUInt64LE(at) + BigInt(1 + int(1000)) : u64s[int(u64s.length)] | 1n;
        b.writeBigUInt64LE(value, at);
        return { kind: `count@${at}=${value}`, bytes: b, mustBlock: value > original.readBigUInt64LE(at) };
      }
      default: { // a tensor info field (n_dims, dims, type, offset) set to an edge value
        const at = tensorFields[int(tensorFields.length)];
        const value = u64s[int(u64s.length)] + BigInt(int(3));
        if (rand() < 0.5) b.writeUInt32LE(Number(value & 0xffffffffn), at);
        else b.writeBigUInt64LE(value & ((1n << 64n) - 1n), at);
        return { kind: `tensor-field@${at}`, bytes: b, mustBlock: false };
      }
    }
  }

  it(`never throws, reports every error as a finding, and takes < ${PER_INPUT_LIMIT_MS} ms per input (seed ${SEED})`, async () => {
    const rand = mulberry32(SEED);
    const started = performance.now();
    const kinds = new Map<string, number>();
    let iterations = 0;
    let blocked = 0;
    let slowest = 0;
    for (; iterations < ITERATIONS && performance.now() - started < TIME_BUDGET_MS; iterations++) {
      const m = mutate(rand);
      const where = `seed ${SEED} iteration ${iterations} (${m.kind})`;
      const t0 = performance.now();
      const result = await analyzeSource(new BufferSource('fuzz.gguf', m.bytes, 0));
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < PER_INPUT_LIMIT_MS, `${where}: took ${ms.toFixed(0)} ms`);
      assert.equal(result.format, 'gguf', where);
      for (const f of result.findings) {
        assert.ok(SEVERITIES.includes(f.severity), where);
        assert.match(f.rule, /^gguf\//, `${where}: ${f.rule} ${f.message}`); // scan/analyzer-error would mean our reader threw
        assert.ok(f.message.length > 0, where);
      }
      assert.doesNotThrow(() => JSON.stringify(result.facts), where); // no bigint leaks into facts
      const blocking = result.findings.some((f) => isBlocking(f.severity));
      if (m.mustBlock) assert.ok(blocking, `${where}: expected a blocking finding, got ${JSON.stringify(result.findings)}`);
      if (blocking) blocked++;
      const kind = m.kind.split(/[ @]/)[0];
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    assert.ok(iterations >= MIN_ITERATIONS, `only ${iterations} iterations in ${TIME_BUDGET_MS} ms`);
    assert.ok(blocked > iterations / 4, `only ${blocked} of ${iterations} mutations were refused`);
    for (const kind of ['flip', 'truncate', 'length', 'count', 'tensor-field']) assert.ok((kinds.get(kind) ?? 0) > 0, `no ${kind} mutations ran`);
    // The unmutated model stays clean: the fuzz findings come from the mutations.
    assert.deepEqual((await analyzeSource(new BufferSource('tiny.gguf', original, 0))).findings, []);
    console.log(`      ${iterations} mutations in ${((performance.now() - started) / 1000).toFixed(1)} s, ${blocked} refused, slowest ${slowest.toFixed(1)} ms`);
  });
});
