import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../../../src/core/hash/sha256';
import { resolveModelSource } from '../../../src/core/serve/model-source';
import { writeTinyLlama } from '../../fixtures/gguf/tiny-llama';

describe('serve --model: a file or a registry manifest', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'sovereign-source-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('passes a model file through', async () => {
    assert.deepEqual(await resolveModelSource('/x/model.gguf'), { path: '/x/model.gguf' });
  });

  it('finds a manifest artifact in the content-addressed store', async () => {
    const info = await writeTinyLlama(join(dir, 'tiny.gguf'));
    const sha = await sha256File(info.path);
    const store = join(dir, 'store');
    await mkdir(join(store, 'sha256', sha.slice(0, 2)), { recursive: true });
    await copyFile(info.path, join(store, 'sha256', sha.slice(0, 2), sha.slice(2)));
    const manifestDir = join(dir, 'repo', '.sovereign', 'models', 'tiny');
    await mkdir(manifestDir, { recursive: true });
    const manifest = join(manifestDir, '1.0.0.yaml');
    await writeFile(manifest, `name: tiny\nversion: 1.0.0\nartifacts:\n  - path: tiny.gguf\n    sha256: ${sha}\n    size: ${info.size}\n`);
    const source = await resolveModelSource(manifest, { SOVEREIGN_STORE: store });
    assert.equal(source.path, join(store, 'sha256', sha.slice(0, 2), sha.slice(2)));
    assert.equal(source.expectedSha256, sha);
    assert.equal(source.name, 'tiny');
    assert.equal(source.version, '1.0.0');
    await assert.rejects(resolveModelSource(manifest, { SOVEREIGN_STORE: join(dir, 'empty-store') }), /is not in the store/);
  });
});
