import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { appendAudit, auditFile } from '../../src/core/audit/log';
import { parseManifest } from '../../src/core/registry/manifest';
import { signVersion } from '../../src/core/registry/signature';
import { keyIdOf } from '../../src/core/signing/keys';
import { guardedFetch } from '../../src/core/net/egress';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

/** A workspace as the registry leaves it: manifests, aliases, a signature, a policy, an audit log. */
async function makeWorkspace(root: string, serverUrl: string): Promise<void> {
  execFileSync('git', ['init', '-q'], { cwd: root });
  const models = join(root, '.sovereign', 'models');
  await mkdir(join(models, 'coder'), { recursive: true });
  await mkdir(join(models, 'fraud-mlp'), { recursive: true });
  // Signed with the registry's own signing code and a key the policy trusts; 0.9.0 is edited after signing.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await mkdir(join(root, 'keys'));
  await writeFile(join(root, 'keys', 'team.pub'), publicKey.export({ type: 'spki', format: 'pem' }) as string);
  for (const version of ['1.0.0', '0.9.0']) {
    const rel = `.sovereign/models/coder/${version}.yaml`;
    const text =
      `name: coder\nversion: ${version}\nformat: gguf\nlicense: apache-2.0\n` +
      `artifacts:\n  - { path: coder.gguf, sha256: ${sha('gguf')}, size: 4, format: gguf }\n` +
      `scan: { tool: sovereign, verdict: pass, worst: none, findings: 0, scanned_at: "2025-05-01T10:00:00Z" }\n` +
      `signature: { path: .sovereign/models/coder/${version}.sig, key_id: "${keyIdOf(publicKey)}", signed_at: "2025-05-01T10:01:00Z" }\n`;
    const parsed = parseManifest(text, rel, { name: 'coder', version });
    assert.ok(parsed.manifest, JSON.stringify(parsed.problems));
    await writeFile(join(root, rel), version === '0.9.0' ? text.replace('apache-2.0', 'mit') : text);
    await writeFile(join(models, 'coder', `${version}.sig`), JSON.stringify(signVersion(parsed.manifest, rel, text, privateKey), null, 2) + '\n');
  }
  await writeFile(join(models, 'coder', 'aliases.yaml'), 'production: 1.0.0\n');
  await writeFile(
    join(models, 'fraud-mlp', '2.1.0.yaml'),
    `name: fraud-mlp\nversion: 2.1.0\nformat: onnx\nartifacts:\n  - { path: model.onnx, sha256: ${sha('onnx')}, size: 4 }\n` +
      `scan: { verdict: fail, worst: high, findings: 2 }\n`,
  );
  await writeFile(
    join(root, '.sovereign', 'policy.yaml'),
    `version: 1\nsignature: { trusted_keys: [keys/team.pub] }\nendpoints:\n  allowed: ["10.0.0.0/8", "192.168.0.0/16"]\nexceptions:\n` +
      `  - { model: fraud-mlp, rule: scan-severity, justification: "false positive on a custom op <b>", expires: "2999-01-01", approved_by: "sec-team" }\n` +
      `  - { model: coder, rule: license, justification: "legal review pending", expires: "2020-01-01" }\n`,
  );
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '.'], { cwd: root });
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'models'], { cwd: root });

  await appendAudit(root, { action: 'register', subject: 'coder@1.0.0', details: { digest: sha('gguf') } });
  await appendAudit(root, { action: 'sign', subject: 'coder@1.0.0', details: { keyId: 'team-key-1' } });
  await appendAudit(root, { action: 'completion', details: { endpoint: `${serverUrl}/infill`, latencyMs: 12, modelDigest: 'sha256:ab', prompt: 'SECRET CODE' } });
  // Real guarded traffic: one allowed loopback call, one refused attempt to TEST-NET-3.
  await (await guardedFetch(`${serverUrl}/health`, {}, { audit: { root } })).text();
  await assert.rejects(guardedFetch('http://203.0.113.5:8080/v1', {}, { audit: { root } }));
}

describe('sovereign evidence', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let server: Server;
  let serverUrl: string;
  let container: string | undefined;

  before(async () => {
    server = createServer((_q, s) => s.writeHead(200, { connection: 'close' }).end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = await tempDir('sovereign-evidence-');
    await mkdir(join(dir.path, 'ws'));
    await makeWorkspace(join(dir.path, 'ws'), serverUrl);
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await dir.cleanup();
  });

  it('writes evidence.json, report.md, report.html, raw copies and SHA256SUMS', async () => {
    const ws = join(dir.path, 'ws');
    const out = join(dir.path, 'bundle');
    const r = await runCli(['evidence', '--output', out], { cwd: ws });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${out}\n`);
    for (const f of ['evidence.json', 'report.md', 'report.html', 'audit.jsonl', 'policy.yaml', 'SHA256SUMS']) assert.ok(existsSync(join(out, f)), f);
    // The checksums are those of the files, in sha256sum format.
    for (const line of (await readFile(join(out, 'SHA256SUMS'), 'utf8')).trimEnd().split('\n')) {
      const [hash, name] = line.split('  ');
      assert.equal(hash, sha(await readFile(join(out, name))), name);
    }
    assert.equal(await readFile(join(out, 'audit.jsonl'), 'utf8'), await readFile(auditFile(ws), 'utf8'));

    const e = JSON.parse(await readFile(join(out, 'evidence.json'), 'utf8'));
    assert.equal(e.schema, 'sovereign-evidence/1');
    assert.match(e.workspace.git.commit, /^[0-9a-f]{40}$/);
    assert.deepEqual(e.models.map((m: { name: string; version: string }) => `${m.name}@${m.version}`), ['coder@0.9.0', 'coder@1.0.0', 'fraud-mlp@2.1.0']);
    const [edited, coder, fraud] = e.models;
    assert.equal(coder.artifacts[0].sha256, sha('gguf'));
    assert.equal(coder.manifestSha256, sha(await readFile(join(ws, '.sovereign/models/coder/1.0.0.yaml'))));
    assert.deepEqual({ present: coder.signature.present, status: coder.signature.status }, { present: true, status: 'valid' });
    assert.match(coder.signature.verifiedKeyId, /^[0-9a-f]{64}$/);
    assert.equal(edited.signature.status, 'invalid', 'a manifest edited after signing fails the check');
    assert.match(edited.signature.reason, /0\.9\.0\.yaml/);
    assert.match(coder.signature.fileSha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(coder.aliases, ['production']);
    assert.equal(coder.scan.verdict, 'pass');
    assert.equal(fraud.signature.present, false);
    assert.equal(fraud.scan.verdict, 'fail');
    assert.equal(e.policy.present, true);
    assert.deepEqual(e.policy.exceptions.map((x: { model: string; expired: boolean }) => [x.model, x.expired]), [['fraud-mlp', false], ['coder', true]]);
    assert.deepEqual(e.policy.endpointsAllowed, ['10.0.0.0/8', '192.168.0.0/16']);
    assert.equal(e.audit.verification.ok, true);
    assert.equal(e.audit.entriesInPeriod, 5);
    assert.deepEqual(e.audit.byAction, { register: 1, sign: 1, completion: 1, egress: 1, 'egress-refused': 1 });
    assert.ok(!JSON.stringify(e).includes('SECRET CODE'), 'no prompt reaches the evidence');
    // Every endpoint contacted, and the refused attempt, with where they are.
    const endpoints = e.egress.endpoints.map((x: { origin: string; allowed: boolean; locality: string; count: number }) => [x.origin, x.allowed, x.locality, x.count]);
    assert.deepEqual(endpoints, [['http://203.0.113.5:8080', false, 'other', 1], [serverUrl, true, 'loopback', 2]]);
    assert.equal(e.egress.refusedAttempts, 1);
    assert.deepEqual(e.egress.outsidePrivate, []);
    assert.match(e.egress.statement, /^No outbound call left loopback and private networks: 1 endpoint\(s\) contacted, all local\. 1 attempt\(s\) .* refused/);
    assert.deepEqual(e.summary, { auditIntact: true, models: 3, signed: 2, signatureValid: 1, scanned: 3, scanFailed: 1, policyExceptions: 2, expiredExceptions: 1, deployments: e.summary.deployments, outsidePrivate: 0, refusedAttempts: 1 });

    const md = await readFile(join(out, 'report.md'), 'utf8');
    assert.match(md, /^# Compliance evidence/);
    assert.match(md, /\| Audit log chain \| intact \(5 entries\) \|/);
    assert.match(md, /\| coder@1\.0\.0 \| gguf \| coder\.gguf [0-9a-f]{16}… \| valid, key [0-9a-f]{64} at 2025-05-01T10:01:00Z \| pass/);
    assert.match(md, /\| coder@0\.9\.0 \| gguf \| .* \| INVALID \(/);
    assert.match(md, /\| coder \| license \| legal review pending \| 2020-01-01 \| — \| EXPIRED \|/);
    assert.match(md, /\| http:\/\/203\.0\.113\.5:8080 \| 203\.0\.113\.5 \| other \| REFUSED \| 1 \|/);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    assert.ok(!/<script/i.test(html));
    assert.match(html, /custom op &lt;b&gt;/, 'text from the workspace is escaped');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });

  it('--since limits the period; --json prints the evidence; a broken chain exits 1', async () => {
    const ws = join(dir.path, 'ws');
    const r = await runCli(['evidence', '--output', join(dir.path, 'b2'), '--since', '2999-01-01', '--json'], { cwd: ws });
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    assert.equal(e.audit.entriesInPeriod, 0);
    assert.equal(e.period.since, '2999-01-01T00:00:00.000Z');
    assert.equal(e.audit.verification.ok, true, 'the chain is always verified whole');
    const log = await readFile(auditFile(ws), 'utf8');
    await writeFile(auditFile(ws), log.replace('"team-key-1"', '"other-key"'));
    try {
      const broken = await runCli(['evidence', '--output', join(dir.path, 'b3')], { cwd: ws });
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, /BROKEN/);
      assert.match(await readFile(join(dir.path, 'b3', 'report.md'), 'utf8'), /BROKEN at line 2 \(seq 2\)/);
    } finally {
      await writeFile(auditFile(ws), log);
    }
  });

  it('an empty folder gives an honest, empty bundle', async () => {
    const empty = join(dir.path, 'empty');
    await mkdir(empty);
    const r = await runCli(['evidence', '--output', join(dir.path, 'b4'), '--json'], { cwd: empty });
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(r.stdout);
    assert.deepEqual(e.models, []);
    assert.equal(e.policy.present, false);
    assert.equal(e.audit.present, false);
    assert.equal(e.summary.auditIntact, null);
    assert.match(await readFile(join(dir.path, 'b4', 'report.md'), 'utf8'), /No model is registered/);
  });

  it('lists sovereign-labelled containers with their isolation settings from the real Docker engine', async function () {
    const socket = process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') ?? '/var/run/docker.sock';
    let reachable = false;
    try {
      reachable = statSync(socket).isSocket() && execFileSync('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 }).length > 0;
    } catch {
      reachable = false;
    }
    if (!reachable) this.skip();
    // A one-file image imported from a tarball (no registry), and a container created, never started.
    const ctx = join(dir.path, 'img');
    await mkdir(ctx, { recursive: true });
    await writeFile(join(ctx, 'marker'), 'x');
    const tar = join(dir.path, 'img.tar');
    execFileSync('tar', ['-cf', tar, '-C', ctx, 'marker']);
    const image = 'sovereign-evidence-test:tmp';
    execFileSync('docker', ['import', tar, image], { stdio: 'ignore' });
    const name = `sovereign-evidence-test-${process.pid}`;
    container = execFileSync('docker', ['create', '--name', name, '--label', 'sovereign.model=coder@1.0.0', '--label', 'sovereign.deployment=staging', '--network', 'none', '--read-only', '--cap-drop', 'ALL', '--memory', '64m', '--pids-limit', '32', image, '/marker'], { encoding: 'utf8' }).trim();
    try {
      const r = await runCli(['evidence', '--output', join(dir.path, 'b5'), '--json'], { cwd: join(dir.path, 'ws') });
      assert.equal(r.code, 0, r.stderr);
      const e = JSON.parse(r.stdout);
      assert.equal(e.deployments.source, 'docker');
      const d = e.deployments.items.find((x: { name: string }) => x.name === name);
      assert.ok(d, JSON.stringify(e.deployments));
      assert.deepEqual(d.labels, { 'sovereign.model': 'coder@1.0.0', 'sovereign.deployment': 'staging' });
      assert.deepEqual(
        { net: d.isolation.networkMode, ro: d.isolation.readOnlyRootfs, caps: d.isolation.capDrop, mem: d.isolation.memoryBytes, pids: d.isolation.pidsLimit, ports: d.isolation.publishedPorts },
        { net: 'none', ro: true, caps: ['ALL'], mem: 64 * 1024 * 1024, pids: 32, ports: [] },
      );
    } finally {
      execFileSync('docker', ['rm', '-f', container], { stdio: 'ignore' });
      execFileSync('docker', ['rmi', image], { stdio: 'ignore' });
    }
  });
});
