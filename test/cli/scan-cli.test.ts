import { strict as assert } from 'node:assert';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';
import { assertValidSarif } from '../helpers/sarif';

describe('sovereign scan / hash / inspect (the CLI contract CI pipelines rely on)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let benign: string;
  let evil: string;
  before(async () => {
    dir = await tempDir();
    benign = join(dir.path, 'notes.txt');
    evil = join(dir.path, 'model.bin'); // a pickle with an innocent name: detection is by content
    await writeFile(benign, 'just text\n');
    await writeFile(evil, Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1'));
  });
  after(() => dir.cleanup());

  it('hash prints sha256 like sha256sum', async () => {
    const r = await runCli(['hash', benign]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${createHash('sha256').update('just text\n').digest('hex')}  ${benign}\n`);
  });

  it('exit 0 when nothing high/critical is found', async () => {
    const r = await runCli(['scan', benign]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^OK\s+.*notes\.txt/m);
  });

  it('exit 1 with a BLOCKED verdict and JSON findings for a malicious pickle', async () => {
    const text = await runCli(['scan', dir.path]);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, /^BLOCKED\s+.*model\.bin/m);
    const json = await runCli(['scan', '--format', 'json', evil]);
    assert.equal(json.code, 1);
    const parsed = JSON.parse(json.stdout) as { files: { format: string; findings: { severity: string }[] }[] };
    assert.equal(parsed.files[0].format, 'pickle');
    assert.ok(parsed.files[0].findings.some((f) => f.severity === 'critical'));
  });

  it('writes SARIF to --output and keeps stdout empty', async () => {
    const out = join(dir.path, 'scan.sarif');
    const r = await runCli(['scan', '--format', 'sarif', '--output', out, evil], { cwd: dir.path });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const sarif = JSON.parse(await (await import('node:fs/promises')).readFile(out, 'utf8')) as unknown;
    assertValidSarif(sarif); // the official SARIF 2.1.0 schema + what GitHub code scanning needs
    assert.ok(sarif.runs[0].results!.length > 0);
  });

  it('exit 2 with a clear message for usage and I/O errors, never a stack trace', async () => {
    const missing = await runCli(['scan', join(dir.path, 'missing.gguf')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*missing\.gguf: no such file/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const badFormat = await runCli(['scan', '--format', 'xml', benign]);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /unknown format "xml"/);
    const noArgs = await runCli(['scan']);
    assert.equal(noArgs.code, 2);
  });

  it('inspect exits 1 for a file that is not a model and says so', async () => {
    const r = await runCli(['inspect', benign]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not a recognised model format/);
  });
});
