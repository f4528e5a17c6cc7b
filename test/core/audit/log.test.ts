import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appendAudit, auditFile, readAudit } from '../../../src/core/audit/log';
import { verifyWorkspaceAudit as verifyAudit } from '../../../src/core/govern/audit-verify';
import { canonicalJson, GENESIS, sha256Hex } from '../../../src/core/audit/canonical';
import { auditActions } from '../../../src/core/audit/actions';

async function lines(root: string): Promise<string[]> {
  return (await readFile(auditFile(root), 'utf8')).trimEnd().split('\n');
}

async function writeLines(root: string, ls: string[]): Promise<void> {
  await writeFile(auditFile(root), ls.join('\n') + '\n');
}

describe('audit log', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sovereign-audit-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function seed(n: number): Promise<void> {
    for (let i = 1; i <= n; i++) await appendAudit(root, { action: 'register', subject: `m${i}@1.0.0`, details: { i } });
  }

  it('writes hash-chained canonical JSON lines under .sovereign/audit.jsonl', async () => {
    await seed(3);
    const ls = await lines(root);
    assert.equal(ls.length, 3);
    const entries = ls.map((l) => JSON.parse(l));
    assert.deepEqual(entries.map((e) => e.seq), [1, 2, 3]);
    assert.equal(entries[0].prev, GENESIS);
    assert.equal(entries[1].prev, sha256Hex(ls[0]));
    assert.equal(entries[2].prev, sha256Hex(ls[1]));
    for (const [i, e] of entries.entries()) {
      const { hash, ...body } = e;
      assert.equal(hash, sha256Hex(canonicalJson(body)));
      assert.equal(canonicalJson(e), ls[i]);
      assert.ok(!Number.isNaN(Date.parse(e.time)));
      assert.equal(typeof e.actor, 'string');
      assert.ok(e.actor.length > 0);
    }
    const result = await verifyAudit(root);
    assert.equal(result.ok, true);
    assert.equal(result.entries, 3);
    assert.equal(result.head?.seq, 3);
    assert.equal(result.head?.hash, entries[2].hash);
  });

  it('redacts secrets and personal data in subject and details', async () => {
    await appendAudit(root, {
      action: 'deploy',
      subject: 'api for jane.doe@example.com',
      details: { env: 'API_TOKEN=ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8', password: 'hunter2', nested: { url: 'https://u:p4ss@h.local/x' } },
    });
    const [e] = await readAudit(root);
    const text = JSON.stringify(e);
    assert.ok(!text.includes('jane.doe@example.com'));
    assert.ok(!text.includes('hunter2'));
    assert.ok(!text.includes('p4ss'));
    assert.ok(!text.includes('a1B2c3D4e5F6g7H8i9J0'));
    assert.match(e.subject ?? '', /\[REDACTED:email\]/);
    assert.equal((e.details?.nested as { url: string }).url, 'https://[REDACTED:url-credentials]@h.local/x');
    assert.equal((await verifyAudit(root)).ok, true);
  });

  it('keeps only metadata for completion events (never code or prompts)', async () => {
    await appendAudit(root, {
      action: 'completion',
      details: { modelDigest: 'sha256:ab', endpoint: 'http://127.0.0.1:8080', latencyMs: 42, prompt: 'function secret() {', prefix: 'x', output: 'y' },
    });
    const [e] = await readAudit(root);
    assert.deepEqual(e.details, { endpoint: 'http://127.0.0.1:8080', latencyMs: 42, modelDigest: 'sha256:ab', withheld: ['output', 'prefix', 'prompt'] });
    assert.ok(!JSON.stringify(e).includes('function secret'));
  });

  it('documents every governed action', () => {
    for (const a of ['register', 'scan', 'sign', 'verify', 'alias', 'policy-exception', 'deploy', 'canary', 'promote', 'rollback', 'model-load', 'completion', 'egress-refused', 'egress']) {
      assert.equal(typeof (auditActions as Record<string, string>)[a], 'string', a);
    }
  });

  it('detects an edited entry at its line', async () => {
    await seed(5);
    const ls = await lines(root);
    ls[2] = ls[2].replace('"m3@1.0.0"', '"evil@1.0.0"');
    await writeLines(root, ls);
    const r = await verifyAudit(root);
    assert.equal(r.ok, false);
    assert.deepEqual({ line: r.firstBad?.line, seq: r.firstBad?.seq }, { line: 3, seq: 3 });
    assert.match(r.firstBad?.reason ?? '', /edited/);
    assert.equal(r.head?.seq, 2);
  });

  it('detects an edited entry whose hash was recomputed, at the next line', async () => {
    await seed(4);
    const ls = await lines(root);
    const e = JSON.parse(ls[1]);
    e.subject = 'forged@9';
    delete e.hash;
    e.hash = sha256Hex(canonicalJson(e));
    ls[1] = canonicalJson(e);
    await writeLines(root, ls);
    const r = await verifyAudit(root);
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.line, 3);
    assert.equal(r.firstBad?.seq, 3);
    assert.match(r.firstBad?.reason ?? '', /prev/);
  });

  it('detects a removed entry', async () => {
    await seed(5);
    const ls = await lines(root);
    ls.splice(1, 1);
    await writeLines(root, ls);
    const r = await verifyAudit(root);
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.line, 2);
    assert.equal(r.firstBad?.seq, 3);
    assert.match(r.firstBad?.reason ?? '', /removed/);
  });

  it('detects reordered entries', async () => {
    await seed(5);
    const ls = await lines(root);
    [ls[3], ls[4]] = [ls[4], ls[3]];
    await writeLines(root, ls);
    const r = await verifyAudit(root);
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.line, 4);
    assert.equal(r.firstBad?.seq, 5);
  });

  it('detects an inserted entry even with a well-formed seq and hash', async () => {
    await seed(3);
    const ls = await lines(root);
    // A forger copies entry 2's chain position and renumbers: the one after it no longer chains.
    const forged = JSON.parse(ls[1]);
    forged.subject = 'inserted@1';
    forged.seq = 3;
    forged.prev = sha256Hex(ls[1]);
    delete forged.hash;
    forged.hash = sha256Hex(canonicalJson(forged));
    ls.splice(2, 0, canonicalJson(forged));
    await writeLines(root, ls);
    const r = await verifyAudit(root);
    assert.equal(r.ok, false);
    assert.equal(r.firstBad?.line, 4);
    assert.equal(r.firstBad?.seq, 3);
  });

  it('detects whitespace rewrites, blank lines and garbage', async () => {
    await seed(3);
    const ls = await lines(root);
    await writeLines(root, [ls[0], JSON.stringify(JSON.parse(ls[1]), null, 1).replace(/\n/g, ''), ls[2]]);
    let r = await verifyAudit(root);
    assert.equal(r.firstBad?.line, 2);
    assert.match(r.firstBad?.reason ?? '', /canonical/);
    await writeLines(root, [ls[0], '', ls[1], ls[2]]);
    r = await verifyAudit(root);
    assert.equal(r.firstBad?.line, 2);
    await writeLines(root, [ls[0], ls[1].slice(0, 20)]);
    r = await verifyAudit(auditFile(root));
    assert.equal(r.firstBad?.line, 2);
    assert.match(r.firstBad?.reason ?? '', /JSON/);
  });

  it('throws an IoError (exit 2) for a missing log', async () => {
    await assert.rejects(verifyAudit(root), (err: Error & { exitCode?: number }) => err.exitCode === 2 && /no such file/.test(err.message));
    assert.deepEqual(await readAudit(root), []);
  });

  it('keeps the chain intact under concurrent appends in one process', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendAudit(root, { action: 'scan', subject: `p${i}` })));
    const r = await verifyAudit(root);
    assert.equal(r.ok, true, JSON.stringify(r.firstBad));
    assert.equal(r.entries, 40);
  });

  it('keeps the chain intact under concurrent appends from several processes', async function () {
    this.timeout(30_000);
    const logModule = resolve(__dirname, '../../../src/core/audit/log');
    // Compiled runs (out/) load the .js next to this test; tsx runs load the .ts through tsx.
    const isTs = __filename.endsWith('.ts');
    // One unawaited append races the loop inside each process (queue), three processes race each other (lock).
    const script = `require(${JSON.stringify(logModule)}).appendAudit(process.argv[1], {action: 'scan'}); ` +
      `(async () => { const m = require(${JSON.stringify(logModule)}); for (let i = 0; i < 10; i++) await m.appendAudit(process.argv[1], {action: 'scan', subject: process.pid + ':' + i}); })()`;
    const args = [...(isTs ? ['--require', 'tsx/cjs'] : []), '-e', script, root];
    await Promise.all(
      Array.from({ length: 3 }, () => new Promise<void>((ok, fail) => execFile(process.execPath, args, { cwd: resolve(__dirname, '../../..') }, (err, _o, stderr) => (err ? fail(new Error(stderr || String(err))) : ok())))),
    );
    const r = await verifyAudit(root);
    assert.equal(r.ok, true, JSON.stringify(r.firstBad));
    assert.equal(r.entries, 33);
  });
});
