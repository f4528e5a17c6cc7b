import assert from 'node:assert/strict';
import { join } from 'node:path';
import { benchTarget } from '../../../src/core/bench/bench-target';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { tempDir } from '../../helpers/tmp';

/** The bench use case both front ends call (the CLI command and the extension's core client). */
describe('benchTarget (the bench use case of the CLI and the extension)', function () {
  this.timeout(120_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir()));
  after(() => dir.cleanup());

  it('--save outside a workspace is a usage error before anything runs', async () => {
    await assert.rejects(benchTarget({ target: join(dir.path, 'nothing.gguf'), save: true }), (err: Error) => err.name === 'UsageError' && /--save needs a governed workspace/.test(err.message));
  });

  it('a cancelled benchmark stops at the next step with an AbortError (the extension\'s cancel button)', async () => {
    const info = await writeTinyLlama(join(dir.path, 'tiny.gguf'));
    const controller = new AbortController();
    const seen: string[] = [];
    await assert.rejects(
      benchTarget({
        target: info.path,
        repetitions: 2,
        promptTokens: 8,
        generateTokens: 4,
        threads: 1,
        signal: controller.signal,
        onProgress: (m) => {
          seen.push(m);
          if (m.startsWith('warm-up')) controller.abort();
        },
      }),
      (err: Error) => err.name === 'AbortError',
    );
    assert.ok(!seen.some((m) => m.startsWith('repetition')), `no measured repetition after the cancellation: ${seen.join(', ')}`);
  });
});
