import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { runCli, REPO_ROOT } from '../helpers/cli';
import { EVIL_PICKLE, makeRepo, runMain, weights, type TestRepo } from '../core/registry/repo';

describe('sovereign registry / lineage (CLI contract)', function () {
  this.timeout(120_000);
  let repo: TestRepo;
  before(async () => {
    repo = await makeRepo();
    const init = await runMain(['registry', 'init'], repo.root);
    assert.equal(init.code, 0, init.stderr);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\nformats:\n  denied: [pickle]\n');
    await repo.write('../base.bin', weights());
    await repo.write('../ft.bin', weights());
  });
  after(() => repo.cleanup());

  it('add -> list/show --json; --version reaches the command (not the program version)', async () => {
    const add = await runMain(['registry', 'add', join(repo.base, 'base.bin'), '--name', 'base', '--version', '1.0.0', '--license', 'mit', '--dataset', `web@sha256:${'a'.repeat(64)}`, '--json'], repo.root);
    assert.equal(add.code, 0, add.stderr);
    const added = JSON.parse(add.stdout) as { ok: boolean; manifestFile: string; commit: string };
    assert.equal(added.ok, true);
    assert.equal(added.manifestFile, '.sovereign/models/base/1.0.0.yaml');
    const ft = await runMain(['registry', 'add', join(repo.base, 'ft.bin'), '--name', 'coder', '--version', '0.1.0', '--parent', 'base@1.0.0', '--derivation', 'fine-tune'], repo.root);
    assert.equal(ft.code, 0, ft.stderr);
    assert.match(ft.stdout, /^registered coder@0\.1\.0: \.sovereign\/models\/coder\/0\.1\.0\.yaml \(commit [0-9a-f]{8}\)\n$/);
    const list = JSON.parse((await runMain(['registry', 'list', '--json'], repo.root)).stdout) as { models: { name: string; version: string }[] };
    assert.deepEqual(list.models.map((m) => `${m.name}@${m.version}`), ['base@1.0.0', 'coder@0.1.0']);
    const show = JSON.parse((await runMain(['registry', 'show', 'coder', '--json'], repo.root)).stdout) as { parents: { ref: string; derivation: string }[] };
    assert.deepEqual(show.parents, [{ ref: 'base@1.0.0', derivation: 'fine-tune' }]);
  });

  it('lineage, which-used and graph --json', async () => {
    const lineage = JSON.parse((await runMain(['lineage', 'base@1.0.0', '--json'], repo.root)).stdout) as { descendants: { id: string }[] };
    assert.deepEqual(lineage.descendants.map((d) => d.id), ['model:coder@0.1.0']);
    const text = await runMain(['lineage', 'coder'], repo.root);
    assert.match(text.stdout, /ancestors:\n\s+base@1\.0\.0\s+\(fine-tune\)/);
    const used = JSON.parse((await runMain(['registry', 'which-used', 'web', '--json'], repo.root)).stdout) as { direct: { model: string }[]; inherited: { model: string }[] };
    assert.deepEqual(used.direct.map((d) => d.model), ['base@1.0.0']);
    assert.deepEqual(used.inherited.map((d) => d.model), ['coder@0.1.0']);
    const graph = JSON.parse((await runMain(['registry', 'graph', '--json'], repo.root)).stdout) as { nodes: { id: string }[]; edges: { kind: string }[] };
    assert.ok(graph.nodes.some((n) => n.id === 'dataset:web@sha256:' + 'a'.repeat(64)));
    assert.deepEqual(graph.edges.map((e) => e.kind).sort(), ['fine-tune', 'trained-on']);
  });

  it('alias, history, diff, verify', async () => {
    const alias = await runMain(['registry', 'alias', 'coder@0.1.0', 'staging'], repo.root);
    assert.equal(alias.code, 0, alias.stderr);
    const history = JSON.parse((await runMain(['registry', 'history', 'coder', '--json'], repo.root)).stdout) as { history: { subject: string }[] };
    assert.equal(history.history[0].subject, 'registry: alias staging -> coder@0.1.0');
    const diff = JSON.parse((await runMain(['registry', 'diff', 'base@1.0.0', 'coder@0.1.0', '--json'], repo.root)).stdout) as { changes: { path: string }[] };
    assert.ok(diff.changes.some((c) => c.path === 'name'));
    const verify = await runMain(['registry', 'verify', 'coder', '--json'], repo.root);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal((JSON.parse(verify.stdout) as { ok: boolean }).ok, true);
  });

  it('exit 1 when the scanner refuses (findings on stderr), exit 2 for usage errors', async () => {
    await repo.write('../evil.bin', EVIL_PICKLE);
    const refused = await runMain(['registry', 'add', join(repo.base, 'evil.bin'), '--name', 'evil', '--version', '1.0.0'], repo.root);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refused: the scan found/);
    assert.match(refused.stderr, /stay in quarantine/);
    const json = await runMain(['registry', 'add', join(repo.base, 'evil.bin'), '--name', 'evil', '--version', '1.0.0', '--json'], repo.root);
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { stage: string }).stage, 'scan');
    assert.equal((await runMain(['registry', 'add', join(repo.base, 'base.bin'), '--name', 'x', '--version', 'one'], repo.root)).code, 2);
    assert.equal((await runMain(['registry', 'show', 'ghost'], repo.root)).code, 2);
    assert.equal((await runMain(['registry', 'add', join(repo.base, 'base.bin'), '--name', 'x', '--version', '1.0.0', '--derivation', 'fine-tune'], repo.root)).code, 2);
  });

  it('the bundled CLI (spawned): registry outside a git repository exits 2 with the fix', async () => {
    // `npm test` builds first; a lone run rebuilds the bundle only when it is older than this area's sources.
    const built = statSync(join(REPO_ROOT, 'dist', 'cli.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    const sources = ['src/cli/commands/registry.ts', 'src/core/registry/read.ts', 'src/core/workspace/workspace.ts'].map((p) => statSync(join(REPO_ROOT, p)).mtimeMs);
    if (built < Math.max(...sources)) execFileSync(process.execPath, [join(REPO_ROOT, 'esbuild.mjs')], { cwd: REPO_ROOT });
    const r = await runCli(['registry', 'list'], { cwd: repo.base });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /not inside a git repository.*\n.*git init.*sovereign registry init/);
    const ok = await runCli(['registry', 'list', '--json'], { cwd: repo.root });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { models: unknown[] }).models.length, 2);
  });
});

describe('sovereign registry: one writer at a time across processes', function () {
  this.timeout(120_000);
  let repo: TestRepo;
  before(async () => {
    ensureBundle();
    repo = await makeRepo();
    assert.equal((await runMain(['registry', 'init'], repo.root)).code, 0);
    await writeFile(join(repo.root, '.sovereign/policy.yaml'), 'version: 1\n');
    repo.git('commit', '-q', '-m', 'policy', '--', '.sovereign/policy.yaml');
  });
  after(() => repo.cleanup());
  const env = (): NodeJS.ProcessEnv => ({ SOVEREIGN_STORE: repo.store });

  it('two `registry add` of the same NAME@VERSION at once: one exits 0, the other 1; git, manifest and audit agree', async () => {
    const a = await repo.write('../a.bin', weights());
    const b = await repo.write('../b.bin', weights());
    const [ra, rb] = await Promise.all([
      runCli(['registry', 'add', a, '--name', 'race', '--version', '1.0.0'], { cwd: repo.root, env: env() }),
      runCli(['registry', 'add', b, '--name', 'race', '--version', '1.0.0'], { cwd: repo.root, env: env() }),
    ]);
    assert.deepEqual([ra.code, rb.code].sort(), [0, 1], `${ra.stderr}\n${rb.stderr}`);
    const loser = ra.code === 1 ? ra : rb;
    assert.match(loser.stderr, /race@1\.0\.0 is already registered/);
    const commits = repo.git('log', '--format=%s', '--', '.sovereign/models/race').trim().split('\n');
    assert.equal(commits.length, 1, commits.join('\n'));
    const manifest = readFileSync(join(repo.root, '.sovereign/models/race/1.0.0.yaml'), 'utf8');
    const sha = /sha256: ([0-9a-f]{64})/.exec(manifest)![1];
    assert.match(commits[0], new RegExp(`sha256:${sha.slice(0, 8)}\\)`));
    const registrations = readFileSync(join(repo.root, '.sovereign/audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; subject: string; details: { digest: string } })
      .filter((e) => e.action === 'register' && e.subject === 'race@1.0.0');
    assert.deepEqual(registrations.map((e) => e.details.digest), [`sha256:${sha}`]);
    // The committed log holds the registration too (the loser's scan entry may follow, uncommitted).
    assert.match(repo.git('show', 'HEAD:.sovereign/audit.jsonl'), new RegExp(`"action":"register".*"digest":"sha256:${sha}"`));
    assert.equal(repo.git('status', '--porcelain', '--', '.sovereign/models').trim(), '');
  });

  it('a held lock: waits, then says who holds it and how to clear it; a dead holder\'s lock is taken over', async () => {
    const lock = join(repo.root, '.git', 'sovereign-registry.lock');
    const c = await repo.write('../c.bin', weights());
    // Held by a live process on this host (this test process).
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), time: '2030-01-01T00:00:00.000Z', command: 'registry add x@1.0.0' }) + '\n');
    const t0 = Date.now();
    const busy = await runCli(['registry', 'add', c, '--name', 'held', '--version', '1.0.0'], { cwd: repo.root, env: { ...env(), SOVEREIGN_REGISTRY_LOCK_TIMEOUT: '1' } });
    assert.equal(busy.code, 2, busy.stderr);
    assert.ok(Date.now() - t0 >= 1000, 'it waited for the timeout');
    assert.match(busy.stderr, new RegExp(`another registration is running \\(pid ${process.pid} since 2030-01-01T00:00:00\\.000Z: registry add x@1\\.0\\.0\\)`));
    assert.match(busy.stderr, /remove .*sovereign-registry\.lock if that process is gone/);
    assert.equal(existsSync(join(repo.root, '.sovereign/models/held')), false);
    // Held by a process that has exited: stale, taken over.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(lock, JSON.stringify({ pid: Number(dead), host: hostname(), time: '2030-01-01T00:00:00.000Z' }) + '\n');
    const ok = await runCli(['registry', 'add', c, '--name', 'held', '--version', '1.0.0'], { cwd: repo.root, env: { ...env(), SOVEREIGN_REGISTRY_LOCK_TIMEOUT: '5' } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(existsSync(lock), false, 'the lock is released');
  });
});

/** Rebuilds dist/cli.js when it is older than the registry/audit sources (a lone run of this file). */
function ensureBundle(): void {
  const built = statSync(join(REPO_ROOT, 'dist', 'cli.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const dirs = ['src/core/registry', 'src/core/audit', 'src/cli/commands'];
  const newest = Math.max(...dirs.flatMap((d) => readdirSync(join(REPO_ROOT, d)).filter((f) => f.endsWith('.ts')).map((f) => statSync(join(REPO_ROOT, d, f)).mtimeMs)));
  if (built < newest) execFileSync(process.execPath, [join(REPO_ROOT, 'esbuild.mjs')], { cwd: REPO_ROOT });
}
