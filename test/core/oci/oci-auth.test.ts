import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { makeRepo, runMain, weights, type MainResult, type TestRepo } from '../registry/repo';
import { tempDir } from '../../helpers/tmp';
import { CLI } from '../../helpers/cli';
import { makeCertificates, startRegistry, startTokenServer, type TestRegistry } from './registry-server';

async function inRepo(repo: TestRepo, args: string[]): Promise<MainResult> {
  process.env.SOVEREIGN_STORE = repo.store;
  return runMain(args, repo.root);
}

describe('OCI push / pull with htpasswd + TLS (a CA the test makes), docker config and a credential helper', function () {
  this.timeout(180_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let source: TestRepo;
  let dest: TestRepo;
  let reg: TestRegistry;
  let ca: string;
  const saved = { store: process.env.SOVEREIGN_STORE, docker: process.env.DOCKER_CONFIG, path: process.env.PATH };

  before(async () => {
    dir = await tempDir('sovereign-oci-auth-');
    const certs = makeCertificates(dir.path);
    ca = certs.ca;
    reg = await startRegistry(join(dir.path, 'reg'), { users: { alice: 's3cret' }, tls: certs });
    process.env.DOCKER_CONFIG = join(dir.path, 'docker');
    await mkdir(process.env.DOCKER_CONFIG, { recursive: true });
    source = await makeRepo();
    dest = await makeRepo();
    for (const repo of [source, dest]) assert.equal((await inRepo(repo, ['registry', 'init'])).code, 0);
    await writeFile(join(dir.path, 'w.bin'), weights(128 * 1024));
    const add = await inRepo(source, ['registry', 'add', join(dir.path, 'w.bin'), '--name', 'm', '--version', '1.0.0', '--license', 'mit', '--source', 'https://example.com/m']);
    assert.equal(add.code, 0, add.stderr);
  });

  after(async () => {
    await reg?.stop();
    await source?.cleanup();
    await dest?.cleanup();
    await dir?.cleanup();
    for (const [k, v] of [['SOVEREIGN_STORE', saved.store], ['DOCKER_CONFIG', saved.docker], ['PATH', saved.path]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const config = (value: unknown): Promise<void> => writeFile(join(process.env.DOCKER_CONFIG!, 'config.json'), JSON.stringify(value));

  it('refuses a certificate from an unknown CA (exit 1, the hint names --ca-file); never falls back to plain HTTP', async () => {
    const res = await inRepo(source, ['push', 'm@1.0.0', `oci://${reg.host}/team/m`]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /TLS certificate of 127\.0\.0\.1:\d+ is not trusted/);
    assert.match(res.stderr, /--ca-file/);
  });

  it('anonymous, then wrong credentials from the docker config: refused with what to do', async () => {
    const anon = await inRepo(source, ['push', 'm@1.0.0', `oci://${reg.host}/team/m`, '--ca-file', ca]);
    assert.equal(anon.code, 1, anon.stderr);
    assert.match(anon.stderr, /requires a user name and password/);
    await config({ auths: { [`https://${reg.host}`]: { auth: Buffer.from('alice:wrong').toString('base64') } } });
    const wrong = await inRepo(source, ['push', 'm@1.0.0', `oci://${reg.host}/team/m`, '--ca-file', ca]);
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /authentication failed with the credentials from .*config\.json/);
  });

  it('push with the docker config\'s auths (basic over TLS with the test CA), pull with a docker-credential helper', async () => {
    await config({ auths: { [reg.host]: { auth: Buffer.from('alice:s3cret').toString('base64') } } });
    const push = await inRepo(source, ['push', 'm@1.0.0', `oci://${reg.host}/team/m`, '--ca-file', ca, '--json']);
    assert.equal(push.code, 0, push.stderr);
    // The helper is a real program on PATH, asked `get` with the host on stdin, as docker asks it.
    const bin = join(dir.path, 'bin');
    await mkdir(bin, { recursive: true });
    const log = join(dir.path, 'helper.log');
    await writeFile(join(bin, 'docker-credential-sovtest'), `#!/bin/sh\nread host\necho "$1 $host" >> ${log}\n[ "$host" = "${reg.host}" ] && echo '{"ServerURL":"${reg.host}","Username":"alice","Secret":"s3cret"}' && exit 0\necho "credentials not found in native keychain"; exit 1\n`);
    await chmod(join(bin, 'docker-credential-sovtest'), 0o755);
    process.env.PATH = `${bin}${delimiter}${saved.path}`;
    await config({ credHelpers: { [reg.host]: 'sovtest' } });
    const pull = await inRepo(dest, ['pull', `oci://${reg.host}/team/m:1.0.0`, '--ca-file', ca, '--json']);
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal((JSON.parse(pull.stdout) as { signature: { status: string } }).signature.status, 'unsigned');
    assert.equal((await readFile(log, 'utf8')).trim().split('\n')[0], `get ${reg.host}`);
    const audit = await readFile(join(dest.root, '.sovereign/audit.jsonl'), 'utf8');
    assert.ok(audit.includes(`"subject":"https://${reg.host}"`), 'the TLS connection is in the audit log');
  });

  it('--username with --password-stdin (the bundled CLI, password piped on stdin; no docker config)', async () => {
    await config({});
    const child = spawn(process.execPath, [CLI, 'push', 'm@1.0.0', `oci://${reg.host}/team/stdin`, '--ca-file', ca, '--username', 'alice', '--password-stdin', '--json'], {
      cwd: source.root,
      env: { ...process.env, SOVEREIGN_STORE: source.store },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end('s3cret\n');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0, stderr);
    assert.equal((JSON.parse(stdout) as { target: string }).target, `oci://${reg.host}/team/stdin:1.0.0`);
  });
});

describe('OCI push with bearer token authentication (distribution\'s token auth, a token server the test runs)', function () {
  this.timeout(180_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let repo: TestRepo;
  const saved = { store: process.env.SOVEREIGN_STORE, docker: process.env.DOCKER_CONFIG };

  before(async () => {
    dir = await tempDir('sovereign-oci-token-');
    process.env.DOCKER_CONFIG = join(dir.path, 'docker');
    await mkdir(process.env.DOCKER_CONFIG, { recursive: true });
    repo = await makeRepo();
    assert.equal((await inRepo(repo, ['registry', 'init'])).code, 0);
    await writeFile(join(dir.path, 'w.bin'), weights(96 * 1024));
    assert.equal((await inRepo(repo, ['registry', 'add', join(dir.path, 'w.bin'), '--name', 'm', '--version', '1.0.0', '--license', 'mit', '--source', 'https://example.com/m'])).code, 0);
  });

  after(async () => {
    await repo?.cleanup();
    await dir?.cleanup();
    for (const [k, v] of [['SOVEREIGN_STORE', saved.store], ['DOCKER_CONFIG', saved.docker]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('answers the Bearer challenge with a token for the repository, and mounts blobs across repositories (token for both scopes)', async () => {
    const tokens = await startTokenServer(dir.path, { alice: 's3cret' });
    const reg = await startRegistry(join(dir.path, 'reg'), { token: tokens });
    try {
      const anon = await inRepo(repo, ['push', 'm@1.0.0', `oci://${reg.host}/team/m`]);
      assert.equal(anon.code, 1);
      assert.match(anon.stderr, /token server .* refused an anonymous token/);
      await writeFile(join(process.env.DOCKER_CONFIG!, 'config.json'), JSON.stringify({ auths: { [reg.host]: { username: 'alice', password: 's3cret' } } }));
      const push = await inRepo(repo, ['push', 'm@1.0.0', `oci://${reg.host}/team/m`, '--json']);
      assert.equal(push.code, 0, push.stderr);
      assert.ok(tokens.requests.some((r) => r.user === 'alice' && r.scopes.includes('repository:team/m:pull,push')));
      const mount = await inRepo(repo, ['push', 'm@1.0.0', `oci://${reg.host}/team/copy`, '--mount-from', 'team/m', '--json']);
      assert.equal(mount.code, 0, mount.stderr);
      const layers = (JSON.parse(mount.stdout) as { layers: { outcome: string }[] }).layers;
      assert.deepEqual(layers.map((l) => l.outcome), ['mounted', 'mounted']);
      assert.ok(tokens.requests.some((r) => r.scopes.includes('repository:team/copy:pull,push') && r.scopes.includes('repository:team/m:pull')));
      // Without --mount-from: the repositories this workspace published to on that registry are the mount sources.
      const auto = await inRepo(repo, ['push', 'm@1.0.0', `oci://${reg.host}/team/auto`, '--json']);
      assert.equal(auto.code, 0, auto.stderr);
      assert.deepEqual((JSON.parse(auto.stdout) as { layers: { outcome: string }[] }).layers.map((l) => l.outcome), ['mounted', 'mounted']);
    } finally {
      await reg.stop();
      await tokens.stop();
    }
  });
});
