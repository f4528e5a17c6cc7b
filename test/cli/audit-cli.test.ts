import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { appendAudit, auditFile } from '../../src/core/audit/log';
import { canonicalJson, GENESIS, sha256Hex } from '../../src/core/audit/canonical';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

describe('sovereign audit verify / show', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  const env = { GIT_AUTHOR_NAME: 'Ada Auditor', GIT_AUTHOR_EMAIL: 'ada@example.org' };

  beforeEach(async () => {
    dir = await tempDir('sovereign-audit-cli-');
    execFileSync('git', ['init', '-q'], { cwd: dir.path });
    await appendAudit(dir.path, { action: 'register', subject: 'coder@1.0.0', details: { digest: 'sha256:aa' } });
    await appendAudit(dir.path, { action: 'sign', subject: 'coder@1.0.0', details: { keyId: 'k1' } });
    await appendAudit(dir.path, { action: 'alias', subject: 'coder@production', details: { to: '1.0.0' } });
    await appendAudit(dir.path, { action: 'egress-refused', subject: 'http://203.0.113.5:80', details: { address: '203.0.113.5' } });
  });
  afterEach(() => dir.cleanup());

  it('verify: exit 0 and the head of an intact chain (from a subfolder too)', async () => {
    const r = await runCli(['audit', 'verify'], { cwd: dir.path, env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^audit log intact: 4 entries, head seq 4 [0-9a-f]{64}/);
    const j = await runCli(['audit', 'verify', '--json', '--file', auditFile(dir.path)]);
    assert.equal(j.code, 0, j.stderr);
    const v = JSON.parse(j.stdout);
    assert.equal(v.ok, true);
    assert.equal(v.entries, 4);
  });

  it('verify: exit 1 naming the line and seq of a removed entry', async () => {
    const lines = (await readFile(auditFile(dir.path), 'utf8')).split('\n');
    lines.splice(1, 1);
    await writeFile(auditFile(dir.path), lines.join('\n'));
    const r = await runCli(['audit', 'verify'], { cwd: dir.path });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /audit log BROKEN: .*audit\.jsonl line 2 \(seq 3\): sequence number 3 where 2 was expected/);
    assert.match(r.stdout, /intact up to seq 1/);
    const j = JSON.parse((await runCli(['audit', 'verify', '--json'], { cwd: dir.path })).stdout);
    assert.deepEqual({ ok: j.ok, line: j.firstBad.line, seq: j.firstBad.seq }, { ok: false, line: 2, seq: 3 });
  });

  it('verify: exit 1 for an edited entry', async () => {
    const text = await readFile(auditFile(dir.path), 'utf8');
    await writeFile(auditFile(dir.path), text.replace('"k1"', '"k2"'));
    const r = await runCli(['audit', 'verify'], { cwd: dir.path });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /line 2 \(seq 2\): hash does not match the entry content \(the entry was edited\)/);
  });

  it('verify: exit 2 with a hint when there is no log', async () => {
    const r = await runCli(['audit', 'verify', '--file', `${dir.path}/nope.jsonl`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no audit log at .*nope\.jsonl\n\s+hint: governed actions/);
    assert.equal(r.stdout, '');
  });

  it('show: lists entries, filters by action and date, JSON on request', async () => {
    const r = await runCli(['audit', 'show'], { cwd: dir.path });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^\s+1 \d{4}-\d\d-\d\dT[\d:.]+Z register\s+coder@1\.0\.0 /);
    const j = JSON.parse((await runCli(['audit', 'show', '--json', '--action', 'egress-refused'], { cwd: dir.path })).stdout);
    assert.deepEqual(j.entries.map((e: { seq: number }) => e.seq), [4]);
    assert.equal(j.verification.ok, true);
    const future = await runCli(['audit', 'show', '--since', '2999-01-01'], { cwd: dir.path });
    assert.equal(future.stdout, '');
    const recent = await runCli(['audit', 'show', '--since', '1h', '--limit', '2'], { cwd: dir.path });
    assert.equal(recent.stdout.trimEnd().split('\n').length, 2);
  });

  it('show: marks untrusted entries after a break and exits 1', async () => {
    const text = await readFile(auditFile(dir.path), 'utf8');
    await writeFile(auditFile(dir.path), text.replace('coder@production', 'coder@evil'));
    const r = await runCli(['audit', 'show'], { cwd: dir.path });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BROKEN/);
    const marks = r.stdout.trimEnd().split('\n').map((l) => l[0]);
    assert.deepEqual(marks, [' ', ' ', '!', '!']);
  });

  it('usage errors exit 2', async () => {
    assert.equal((await runCli(['audit', 'show', '--since', 'yesterday'], { cwd: dir.path })).code, 2);
    assert.equal((await runCli(['audit', 'show', '--limit', '0'], { cwd: dir.path })).code, 2);
  });
});

describe('sovereign audit verify: anchored to git history and a signed checkpoint', function () {
  this.timeout(60_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir.path, encoding: 'utf8' });
  const log = (): string => auditFile(dir.path);

  /** Re-chains a list of entries (what anyone can do after removing one: the chain alone then verifies). */
  function rechain(entries: Record<string, unknown>[]): string {
    let prev = GENESIS;
    return entries
      .map((e, i) => {
        const body: Record<string, unknown> = { ...e, seq: i + 1, prev };
        delete body.hash;
        const line = canonicalJson({ ...body, hash: sha256Hex(canonicalJson(body)) });
        prev = sha256Hex(line);
        return line + '\n';
      })
      .join('');
  }

  beforeEach(async () => {
    dir = await tempDir('sovereign-audit-anchor-');
    git('init', '-q');
    git('config', 'user.name', 'Test');
    git('config', 'user.email', 'test@example.com');
    for (let i = 1; i <= 3; i++) await appendAudit(dir.path, { action: 'register', subject: `m${i}@1.0.0` });
    git('add', '.sovereign/audit.jsonl');
    git('commit', '-q', '-m', 'three');
    for (let i = 4; i <= 5; i++) await appendAudit(dir.path, { action: 'register', subject: `m${i}@1.0.0` });
    git('commit', '-q', '-am', 'five');
    await appendAudit(dir.path, { action: 'verify', subject: 'm1@1.0.0' }); // seq 6, not committed yet
  });
  afterEach(() => dir.cleanup());

  it('an intact log matches every committed version (JSON keeps its fields and adds history)', async () => {
    const r = await runCli(['audit', 'verify', '--json'], { cwd: dir.path });
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.ok, true);
    assert.equal(v.entries, 6);
    assert.equal(v.head.seq, 6);
    assert.equal(v.history.ok, true);
    assert.equal(v.history.checked, 2);
    assert.equal(v.history.committedHead.seq, 5);
    const text = await runCli(['audit', 'verify'], { cwd: dir.path });
    assert.match(text.stdout, /^audit log intact: 6 entries/);
  });

  it('cutting committed entries off the end is reported with the first missing seq', async () => {
    const lines = (await readFile(log(), 'utf8')).split('\n');
    await writeFile(log(), lines.slice(0, 3).join('\n') + '\n'); // seq 1..3 left: the chain alone is intact
    const r = await runCli(['audit', 'verify'], { cwd: dir.path });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /entries from seq 4 on are missing: the log was cut after seq 3; the last committed head is seq 5/);
    const j = JSON.parse((await runCli(['audit', 'verify', '--json'], { cwd: dir.path })).stdout);
    assert.equal(j.ok, false);
    assert.equal(j.chainOk, true);
    assert.equal(j.history.firstMissing, 4);
  });

  it('removing an entry and recomputing the chain is reported (the committed line changed)', async () => {
    const entries = (await readFile(log(), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    entries.splice(1, 1); // drop seq 2, then re-chain so the hash chain is valid again
    await writeFile(log(), rechain(entries));
    const j = JSON.parse((await runCli(['audit', 'verify', '--json'], { cwd: dir.path })).stdout);
    assert.equal(j.chainOk, true, 'the recomputed chain verifies on its own');
    assert.equal(j.ok, false);
    assert.equal(j.history.firstChanged, 2);
    const r = await runCli(['audit', 'verify'], { cwd: dir.path });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /committed entry seq 2 was changed or removed/);
  });
});
