import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { DEFAULT_ALLOWED_ENDPOINTS } from '../../../src/core/net/endpoints';
import { dockerHostRule, processEgressRules } from '../../../src/core/govern/egress/process-guard';
import { EgressViolationError, installSocketGuard } from '../../../src/core/net/socket-guard';
import { RefusedError } from '../../../src/core/util/errors';

describe('process egress guard: which endpoints a process the product starts may reach', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sovereign-process-guard-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const env = {} as NodeJS.ProcessEnv;

  it('outside a governed workspace: loopback and private networks (the default)', () => {
    const r = processEgressRules(dir, env);
    assert.deepEqual(r.allowed, [...DEFAULT_ALLOWED_ENDPOINTS]);
    assert.equal(r.workspace, undefined);
    assert.equal(r.source, 'default');
  });

  it("in a governed workspace: its policy's endpoints.allowed, from any folder below the git top level", async () => {
    await mkdir(join(dir, '.git'));
    await mkdir(join(dir, '.sovereign'));
    await mkdir(join(dir, 'src', 'deep'), { recursive: true });
    await writeFile(join(dir, '.sovereign', 'policy.yaml'), 'version: 1\nendpoints:\n  allowed: ["10.20.0.0/16", models.internal]\n');
    const r = processEgressRules(join(dir, 'src', 'deep'), env);
    assert.deepEqual(r.allowed, ['10.20.0.0/16', 'models.internal']);
    assert.equal(r.workspace, dir);
    assert.equal(r.source, 'workspace policy');
  });

  it('a governed workspace without a policy file: the default; a malformed policy: loopback only (fail closed)', async () => {
    await mkdir(join(dir, '.git'));
    await mkdir(join(dir, '.sovereign'));
    assert.deepEqual(processEgressRules(dir, env).allowed, [...DEFAULT_ALLOWED_ENDPOINTS]);
    await writeFile(join(dir, '.sovereign', 'policy.yaml'), 'version: 1\nendpoints:\n  allowed: ["10.0.0.0/33"]\n');
    const r = processEgressRules(dir, env);
    assert.deepEqual(r.allowed, []);
    assert.match(r.source, /invalid workspace policy: loopback only/);
  });

  it('allows the Docker engine the user configured in DOCKER_HOST (tcp, ssh), nothing for a unix socket', () => {
    assert.equal(dockerHostRule({ DOCKER_HOST: 'tcp://198.51.100.20:2376' }), '198.51.100.20');
    assert.equal(dockerHostRule({ DOCKER_HOST: 'ssh://deploy@build-host.corp:22' }), 'build-host.corp');
    assert.equal(dockerHostRule({ DOCKER_HOST: 'tcp://[2001:db8::5]:2375' }), '2001:db8::5');
    assert.equal(dockerHostRule({ DOCKER_HOST: 'unix:///var/run/docker.sock' }), undefined);
    assert.equal(dockerHostRule({}), undefined);
    const r = processEgressRules(dir, { DOCKER_HOST: 'tcp://198.51.100.20:2376' });
    assert.deepEqual(r.allowed, [...DEFAULT_ALLOWED_ENDPOINTS, '198.51.100.20']);
    assert.equal(r.dockerHost, '198.51.100.20');
  });

  it('a refused socket is a RefusedError that says what to do; the rules can be decided lazily', async () => {
    let asked = 0;
    const uninstall = installSocketGuard({
      allowed: () => {
        asked++;
        return [];
      },
      onViolation: () => undefined,
    });
    try {
      assert.equal(asked, 0, 'nothing is read before the first connection');
      const err = await new Promise<Error>((resolve) => net.connect(9, '203.0.113.1').on('error', resolve));
      assert.ok(err instanceof EgressViolationError && err instanceof RefusedError);
      assert.equal((err as EgressViolationError).code, 'EGRESS_REFUSED');
      assert.equal((err as RefusedError).exitCode, 1);
      assert.match((err as RefusedError).describe(), /^endpoint 203\.0\.113\.1:9 is outside the allowed endpoints .*\n {2}hint: add it to `endpoints.allowed` in \.sovereign\/policy\.yaml/);
      assert.ok(asked >= 1);
    } finally {
      uninstall();
    }
  });
});
