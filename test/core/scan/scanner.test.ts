import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectFiles, reportBlocks, scanPaths, toScanJson } from '../../../src/core/scan/scanner';
import { sha256File } from '../../../src/core/hash/sha256';
import { tempDir } from '../../helpers/tmp';

describe('scanner', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    dir = await tempDir();
    await mkdir(join(dir.path, 'model', 'sub'), { recursive: true });
    await mkdir(join(dir.path, 'model', '.git'), { recursive: true });
    await writeFile(join(dir.path, 'model', 'README.md'), '# a model\n');
    await writeFile(join(dir.path, 'model', 'sub', 'evil.pkl'), Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1'));
    await writeFile(join(dir.path, 'model', '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await symlink('/etc/passwd', join(dir.path, 'model', 'link'));
  });
  after(() => dir.cleanup());

  it('walks folders recursively, skips .git and reports symlinks without following them', async () => {
    const { files, symlinks } = await collectFiles([join(dir.path, 'model')]);
    assert.deepEqual(files.map((f) => f.slice(dir.path.length + 1)), ['model/README.md', 'model/sub/evil.pkl']);
    assert.deepEqual(symlinks.map((f) => f.slice(dir.path.length + 1)), ['model/link']);
    const report = await scanPaths([join(dir.path, 'model')]);
    const link = report.files.find((f) => f.path.endsWith('link'));
    assert.equal(link?.findings[0].rule, 'fs/symlink');
  });

  it('hashes every file with streaming sha256 identical to a one-shot digest', async () => {
    const big = join(dir.path, 'big.bin');
    const data = Buffer.alloc(9 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i += 4096) data[i] = i & 0xff;
    await writeFile(big, data);
    assert.equal(await sha256File(big), createHash('sha256').update(data).digest('hex'));
    const report = await scanPaths([big]);
    assert.equal(report.files[0].sha256, createHash('sha256').update(data).digest('hex'));
    assert.equal(report.files[0].size, data.length);
  });

  it('blocks on a pickle that runs os.system and produces the JSON contract', async () => {
    const report = await scanPaths([join(dir.path, 'model', 'sub')]);
    assert.equal(report.files[0].format, 'pickle');
    assert.ok(reportBlocks(report), 'a malicious pickle must block');
    const json = toScanJson(report) as { files: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(json.files[0]).sort(), ['findings', 'format', 'path', 'sha256', 'size']);
    const finding = (json.files[0].findings as Record<string, unknown>[])[0];
    assert.deepEqual(Object.keys(finding).sort(), ['location', 'message', 'rule', 'severity']);
  });

  it('reports a missing path as an I/O error that names it', async () => {
    await assert.rejects(scanPaths([join(dir.path, 'nope')]), /cannot read .*nope: no such file/);
  });

  it('honours cancellation', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(scanPaths([join(dir.path, 'model')], { signal: ac.signal }), { name: 'AbortError' });
  });
});
