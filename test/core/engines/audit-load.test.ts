import { strict as assert } from 'node:assert';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readAudit } from '../../../src/core/audit/log';
import { verifyWorkspaceAudit as verifyAudit } from '../../../src/core/govern/audit-verify';
import { sha256File } from '../../../src/core/hash/sha256';
import { openEngine } from '../../../src/core/engines';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';
import { tempDir } from '../../helpers/tmp';

describe('model loads are audited (metadata only)', function () {
  this.timeout(120_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => (dir = await tempDir()));
  after(() => dir.cleanup());

  it('an engine opened in a governed workspace appends a model-load entry with the digest and the runtime', async () => {
    const root = join(dir.path, 'ws');
    await mkdir(join(root, '.sovereign'), { recursive: true });
    const info = await writeTinyLlama(join(dir.path, 'tiny.gguf'));
    const { engine } = await openEngine(info.path, { workspaceRoot: root, load: { threads: 1 } });
    try {
      const entries = await readAudit(root, { action: 'model-load' });
      assert.equal(entries.length, 1);
      const e = entries[0];
      assert.equal(e.subject, 'tiny.gguf');
      assert.equal((e.details as Record<string, unknown>).digest, `sha256:${await sha256File(info.path)}`);
      assert.match(String((e.details as Record<string, unknown>).engine), /^llama\.cpp /);
      assert.equal((e.details as Record<string, unknown>).status, 'ok');
      assert.equal((await verifyAudit(root)).ok, true);
    } finally {
      await engine.stop();
    }
  });
});
