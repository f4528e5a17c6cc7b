import assert from 'node:assert/strict';
import { analyzeSource, BufferSource } from '../../../src/core/formats';
import { analyzeSafetensors } from '../../../src/core/formats/safetensors';
import { SeededRandom } from '../../fixtures/onnx/prng';
import { mutateBytes } from '../../fixtures/onnx/mutate';
import { brokenSafetensorsVariants, encodeSafetensors, validSafetensorsSpec } from '../../fixtures/safetensors/writer';

/**
 * Seeded fuzzing of the safetensors reader: byte mutations of valid and broken files, and structure-aware
 * edits of the JSON header (values swapped for other JSON types, keys duplicated, numbers pushed to
 * extremes) with a recomputed length prefix, so most inputs reach the validator rather than the detector.
 */
const BUDGET_MS = 10_000;
const MAX_ITERATIONS = 6000;
const PER_INPUT_MS = 1000;

const JSON_VALUES = ['null', 'true', '-1', '0', '1.5', '1e400', '9007199254740993', '""', '"F32"', '"BOOL"', '[]', '[0]', '[0,0]', '[1,2,3]', '{}', '{"a":"b"}', '"\\u0000"', '[[[[]]]]'];

function mutateHeader(bytes: Buffer, rng: SeededRandom): Buffer {
  const n = Number(bytes.readBigUInt64LE(0));
  let text = bytes.subarray(8, 8 + n).toString('utf8');
  const edits = 1 + rng.int(3);
  for (let e = 0; e < edits; e++) {
    const positions: number[] = [];
    for (let i = 0; i < text.length; i++) if (':,['.includes(text[i])) positions.push(i);
    if (positions.length === 0) break;
    const at = rng.pick(positions) + 1;
    const end = at + rng.int(12);
    text = rng.next() < 0.7 ? text.slice(0, at) + rng.pick(JSON_VALUES) + text.slice(end) : text.slice(0, at) + text.slice(at, end) + text.slice(at);
  }
  const json = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, bytes.subarray(8 + n)]);
}

describe('safetensors reader fuzzing (seeded mutations)', function () {
  this.timeout(BUDGET_MS + 20_000);

  it('never throws and stays bounded on thousands of mutated files', async () => {
    const seeds = [encodeSafetensors(validSafetensorsSpec(), { metadata: { format: 'pt' } }), ...Object.values(brokenSafetensorsVariants()).map(([b]) => b).filter((b) => b.length >= 16)];
    const rng = new SeededRandom(0xa11ce);
    const started = Date.now();
    let iterations = 0;
    let clean = 0;
    let flagged = 0;
    let slowest = 0;
    while (iterations < MAX_ITERATIONS && Date.now() - started < BUDGET_MS) {
      const seed = rng.pick(seeds);
      let input: Buffer;
      try {
        input = rng.next() < 0.5 && Number(seed.readBigUInt64LE(0)) <= seed.length - 8 ? mutateHeader(seed, rng) : mutateBytes(seed, rng, seeds);
      } catch {
        input = mutateBytes(seed, rng, seeds);
      }
      const source = new BufferSource(`f${iterations}.safetensors`, input, 1);
      const t0 = performance.now();
      let viaSource;
      let direct;
      try {
        viaSource = await analyzeSource(source);
        direct = await analyzeSafetensors(source, {}); // the analyzer itself, even where detection says otherwise
      } catch (err) {
        assert.fail(`iteration ${iterations} threw ${String(err)}; input (base64): ${input.toString('base64')}`);
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < PER_INPUT_MS, `iteration ${iterations} took ${ms.toFixed(0)} ms`);
      assert.doesNotThrow(() => JSON.stringify(viaSource.facts) + JSON.stringify(direct.facts));
      assert.equal(direct.format, 'safetensors');
      if (direct.findings.length === 0) clean++;
      else flagged++;
      iterations++;
    }
    assert.ok(iterations >= 500, `only ${iterations} iterations in the budget`);
    assert.ok(flagged > iterations / 2, `${flagged}/${iterations} flagged`);
    console.log(`      ${iterations} inputs, ${flagged} flagged, ${clean} clean, slowest ${slowest.toFixed(1)} ms`);
  });
});
