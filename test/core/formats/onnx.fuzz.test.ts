import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeSource, BufferSource } from '../../../src/core/formats';
import {
  customOpModelProto,
  encodeOnnxModel,
  externalDataModelProto,
  fitMlpWeights,
  localFunctionModelProto,
  microsoftOpModelProto,
  mlpModelProto,
  SeededRandom,
  subgraphCustomOpModelProto,
} from '../../fixtures/onnx';
import { mutateBytes } from '../../fixtures/onnx/mutate';

/**
 * Seeded mutation fuzzing of the ONNX reader through the public entry point (analyzeSource): nothing
 * may throw, every input must finish within a second, facts must stay JSON-serialisable.
 */
const BUDGET_MS = 10_000;
const MAX_ITERATIONS = 4000;
const PER_INPUT_MS = 1000;

describe('ONNX reader fuzzing (seeded mutations)', function () {
  this.timeout(BUDGET_MS + 20_000);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-onnx-fuzz-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('never throws and stays bounded on thousands of mutated models', async () => {
    const seeds = [
      mlpModelProto(fitMlpWeights({ steps: 5 })),
      externalDataModelProto({ location: 'w.bin', offset: 0 }),
      customOpModelProto(),
      microsoftOpModelProto(),
      localFunctionModelProto(),
      subgraphCustomOpModelProto('com.example.hidden', 3),
    ].map(encodeOnnxModel);
    const rng = new SeededRandom(0x5eed);
    const started = Date.now();
    let iterations = 0;
    let analysedAsOnnx = 0;
    let withFindings = 0;
    let slowest = 0;
    while (iterations < MAX_ITERATIONS && Date.now() - started < BUDGET_MS) {
      const input = mutateBytes(rng.pick(seeds), rng, seeds);
      // Half as files on disk (external data resolved under an empty temp folder), half as archive members.
      const source = new BufferSource(join(dir, `m${iterations}.onnx`), input, iterations % 2);
      const t0 = performance.now();
      let result;
      try {
        result = await analyzeSource(source);
      } catch (err) {
        assert.fail(`iteration ${iterations} threw ${String(err)}; input (base64): ${input.toString('base64')}`);
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < PER_INPUT_MS, `iteration ${iterations} took ${ms.toFixed(0)} ms; input (base64): ${input.toString('base64')}`);
      assert.ok(Array.isArray(result.findings));
      assert.doesNotThrow(() => JSON.stringify(result.facts), `iteration ${iterations}: facts must be JSON`);
      for (const f of result.findings) assert.ok(typeof f.rule === 'string' && typeof f.message === 'string');
      if (result.format === 'onnx') analysedAsOnnx++;
      if (result.findings.length > 0) withFindings++;
      iterations++;
    }
    // The fuzzing must have exercised the reader, not just the detector.
    assert.ok(iterations >= 500, `only ${iterations} iterations in the budget`);
    assert.ok(analysedAsOnnx > iterations / 4, `${analysedAsOnnx}/${iterations} reached the ONNX reader`);
    assert.ok(withFindings > iterations / 10, `${withFindings}/${iterations} produced findings`);
    console.log(`      ${iterations} inputs, ${analysedAsOnnx} read as ONNX, ${withFindings} with findings, slowest ${slowest.toFixed(1)} ms`);
  });
});
