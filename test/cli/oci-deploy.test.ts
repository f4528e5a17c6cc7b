import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addModel } from '../../src/core/govern/admission';
import { initRegistry } from '../../src/core/govern/ops';
import { removeModelDeployments } from '../../src/core/deploy/lifecycle';
import { writeTinyLlama } from '../fixtures/gguf/tiny-llama';
import { runCli } from '../helpers/cli';
import { makeRepo, type TestRepo } from '../core/registry/repo';
import { requireDocker } from '../core/deploy/docker-gate';
import { startRegistry, type TestRegistry } from '../core/oci/registry-server';
import { tempDir } from '../helpers/tmp';

/** `deploy staging oci://...`: pulled through the gate into the workspace, then deployed (real registry, real Docker engine, the bundled CLI). */
describe('sovereign deploy staging oci://... (real registry and Docker engine)', function () {
  this.timeout(300_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let source: TestRepo;
  let dest: TestRepo;
  let reg: TestRegistry;

  before(async function () {
    await requireDocker(this, 'test/cli/oci-deploy.test.ts');
    await removeModelDeployments({ model: 'ocitiny' }).catch(() => undefined);
    dir = await tempDir('sovereign-oci-deploy-');
    reg = await startRegistry(join(dir.path, 'registry'));
    source = await makeRepo();
    await initRegistry(source.root);
    await writeFile(join(source.root, '.sovereign/policy.yaml'), 'version: 1\n');
    await writeTinyLlama(join(dir.path, 't.gguf'), { name: 'oci-tiny' });
    await addModel(source.root, { input: join(dir.path, 't.gguf'), name: 'ocitiny', version: '1.0.0' });
    const push = await runCli(['push', 'ocitiny@1.0.0', `oci://${reg.host}/team/ocitiny`], { cwd: source.root, env: { SOVEREIGN_STORE: source.store } });
    assert.equal(push.code, 0, push.stderr);
    dest = await makeRepo();
    await initRegistry(dest.root);
    await writeFile(join(dest.root, '.sovereign/policy.yaml'), 'version: 1\n');
  });

  after(async () => {
    await removeModelDeployments({ model: 'ocitiny' }).catch(() => undefined);
    await reg?.stop();
    await source?.cleanup();
    await dest?.cleanup();
    await dir?.cleanup();
  });

  it('pulls the artifact (one registry commit), then serves the registered version', async () => {
    const r = await runCli(['deploy', 'staging', `oci://${reg.host}/team/ocitiny:1.0.0`, '--json', '--copy'], { cwd: dest.root, env: { SOVEREIGN_STORE: dest.store }, timeoutMs: 280_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /manifest: oci:\/\//);
    const j = JSON.parse(r.stdout) as { model: string; version: string; url: string };
    assert.deepEqual([j.model, j.version], ['ocitiny', '1.0.0']);
    assert.match(dest.git('log', '--format=%s'), /registry: pull ocitiny@1\.0\.0 from oci:\/\//);
    assert.equal((await fetch(`${j.url}/health`)).status, 200);
  });
});
