import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { verifyWorkspaceAudit as verifyAudit } from '../../../src/core/govern/audit-verify';
import { addModel } from '../../../src/core/govern/admission';
import { initRegistry, setAlias } from '../../../src/core/govern/ops';
import { signRegisteredVersion } from '../../../src/core/govern/sign-version';
import { generateKeys, loadPrivateKey } from '../../../src/core/signing/keys';
import { makeRepo, snapshotTree, weights, type TestRepo } from './repo';

/** The compiled audit module (tests run from out/): a hook in another process appends through it. */
const AUDIT_MODULE = resolve(__dirname, '../../../src/core/audit/log.js');

async function auditLines(repo: TestRepo): Promise<{ seq: number; action: string; subject: string }[]> {
  const text = await readFile(join(repo.root, '.sovereign/audit.jsonl'), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; action: string; subject: string });
}

describe('registry transactions: rollback of the audit log and the git index', function () {
  this.timeout(60_000);
  let repo: TestRepo;
  beforeEach(async function () {
    if (!existsSync(AUDIT_MODULE)) this.skip(); // needs the compiled tree (npm run build), as `npm test` runs
    repo = await makeRepo();
    await initRegistry(repo.root);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    repo.git('add', '.sovereign/policy.yaml');
    repo.git('commit', '-q', '-m', 'policy');
    // An audit log with history, committed.
    await addModel(repo.root, { input: await repo.write('../first.bin', weights()), name: 'first', version: '1.0.0' });
  });
  afterEach(() => repo?.cleanup());

  it('keeps an entry another process appended while the transaction ran, when the commit then fails', async () => {
    const hook = [
      '#!/bin/sh',
      `"${process.execPath}" -e 'require(process.argv[1]).appendAudit(process.argv[2], { action: "verify", subject: "other@9.9.9", details: { ok: true } }).then(() => process.exit(0), (e) => { console.error(e); process.exit(3); })' "${AUDIT_MODULE}" "${repo.root}" || exit 4`,
      'echo "hook says no" >&2',
      'exit 1',
      '',
    ].join('\n');
    await writeFile(join(repo.root, '.git', 'hooks', 'pre-commit'), hook, { mode: 0o755 });
    const before = await auditLines(repo);
    await assert.rejects(addModel(repo.root, { input: await repo.write('../w.bin', weights()), name: 'broken', version: '1.0.0' }), /git commit failed.*nothing was changed/s);
    const after = await auditLines(repo);
    // Everything that was there stays, byte for byte in order; the other process's entry survives.
    assert.deepEqual(after.slice(0, before.length), before);
    const other = after.find((e) => e.subject === 'other@9.9.9');
    assert.ok(other, 'the entry the other process appended during the transaction is still there');
    // Our entries (scan, register) came before it, so they stay and a compensating entry names them.
    const rolled = after[after.length - 1] as unknown as { action: string; details: { entries: { action: string }[] } };
    assert.equal(rolled.action, 'registration-rolled-back');
    assert.deepEqual(rolled.details.entries.map((e) => e.action), ['scan', 'register']);
    assert.equal((await verifyAudit(repo.root)).ok, true, 'the chain is intact');
    assert.equal(repo.git('diff', '--cached', '--name-only').trim(), '', 'nothing left staged');
    assert.equal(existsSync(join(repo.root, '.sovereign/models/broken')), false);
  });

  it('cuts off exactly its own entries when they are still the end of the log', async () => {
    await writeFile(join(repo.root, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    const before = await snapshotTree(repo);
    await assert.rejects(addModel(repo.root, { input: await repo.write('../w.bin', weights()), name: 'broken', version: '1.0.0' }), /nothing was changed/);
    assert.equal(await snapshotTree(repo), before);
  });

  it('reports an index it could not restore (never swallowed), with the command that fixes it', async () => {
    // A hook that damages the index and refuses: restoring the index entries fails afterwards.
    await writeFile(join(repo.root, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\necho garbage > "$(git rev-parse --git-dir)/index"\nexit 1\n', { mode: 0o755 });
    await assert.rejects(addModel(repo.root, { input: await repo.write('../w.bin', weights()), name: 'broken', version: '1.0.0' }), (err: Error & { hint?: string }) => {
      assert.match(err.message, /git commit failed/);
      assert.match(err.message, /restoring the git index failed.*the index is dirty/s);
      assert.match(err.hint ?? '', /git restore --staged -- .*\.sovereign\/models\/broken\/1\.0\.0\.yaml/);
      return true;
    });
    // The files themselves were still restored.
    assert.equal(existsSync(join(repo.root, '.sovereign/models/broken')), false);
  });
});

describe('registry lock: every registry mutation waits for the one running', function () {
  this.timeout(60_000);
  let repo: TestRepo;
  const previous = process.env.SOVEREIGN_REGISTRY_LOCK_TIMEOUT;
  before(async () => {
    repo = await makeRepo();
    await initRegistry(repo.root);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    repo.git('commit', '-q', '-m', 'policy', '--', '.sovereign/policy.yaml');
    await addModel(repo.root, { input: await repo.write('../m.bin', weights()), name: 'm', version: '1.0.0' });
  });
  after(async () => {
    if (previous === undefined) delete process.env.SOVEREIGN_REGISTRY_LOCK_TIMEOUT;
    else process.env.SOVEREIGN_REGISTRY_LOCK_TIMEOUT = previous;
    await repo.cleanup();
  });

  it('alias, sign, init and add all refuse while another live process holds the lock', async () => {
    const lock = join(repo.root, '.git', 'sovereign-registry.lock');
    // A live process on this host that is not us: a child that sleeps.
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await writeFile(lock, JSON.stringify({ pid: holder.pid, host: hostname(), time: '2030-01-01T00:00:00.000Z', command: 'registry add x@1.0.0' }) + '\n');
      process.env.SOVEREIGN_REGISTRY_LOCK_TIMEOUT = '0.3';
      const busy = new RegExp(`another registration is running \\(pid ${holder.pid} since 2030-01-01T00:00:00\\.000Z: registry add x@1\\.0\\.0\\)`);
      const head = repo.git('rev-parse', 'HEAD');
      const key = await generateKeys(join(repo.base, 'keys'));
      await assert.rejects(setAlias(repo.root, 'm@1.0.0', 'staging'), busy);
      await assert.rejects(signRegisteredVersion(repo.root, 'm@1.0.0', await loadPrivateKey(key.privateKeyPath)), busy);
      await assert.rejects(initRegistry(repo.root), busy);
      await assert.rejects(addModel(repo.root, { input: await repo.write('../n.bin', weights()), name: 'n', version: '1.0.0' }), busy);
      assert.equal(repo.git('rev-parse', 'HEAD'), head, 'nothing was committed');
    } finally {
      holder.kill();
      await rm(lock, { force: true });
    }
  });

  it('two registrations of one version in one process: one commit, the other refused with exit 1', async () => {
    process.env.SOVEREIGN_REGISTRY_LOCK_TIMEOUT = '30';
    const results = await Promise.allSettled([
      addModel(repo.root, { input: await repo.write('../a.bin', weights()), name: 'twice', version: '1.0.0' }),
      addModel(repo.root, { input: await repo.write('../b.bin', weights()), name: 'twice', version: '1.0.0' }),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error & { exitCode: number };
    assert.match(refused.message, /twice@1\.0\.0 is already registered/);
    assert.equal(refused.exitCode, 1);
    assert.equal(repo.git('log', '--format=%s', '--', '.sovereign/models/twice').trim().split('\n').length, 1);
  });
});
