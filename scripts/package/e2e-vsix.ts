/**
 * The linux-x64 VSIX the end-to-end suite installs: SOVEREIGN_E2E_VSIX when set, else the packager's output in
 * `.cache/package/e2e/`, rebuilt when dist/, media/, schemas/ or package.json changed since it was made.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PACKAGE_CACHE, packageTargets, REPO_ROOT, vsixName } from './package';
import { target } from './targets';

function newest(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((n, name) => Math.max(n, newest(join(path, name))), st.mtimeMs);
}

export async function e2eVsix(log: (line: string) => void): Promise<string> {
  const given = process.env.SOVEREIGN_E2E_VSIX;
  if (given) {
    if (!existsSync(given)) throw new Error(`SOVEREIGN_E2E_VSIX=${given} does not exist`);
    return resolve(given);
  }
  const linux = target('linux-x64');
  const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const out = join(PACKAGE_CACHE, 'e2e');
  const file = join(out, vsixName(linux, version));
  const inputs = Math.max(...['dist', 'media', 'schemas', 'rules', 'package.json', 'README.md', 'bin'].map((p) => newest(join(REPO_ROOT, p))));
  if (existsSync(file) && statSync(file).mtimeMs > inputs) return file;
  log('packaging the linux-x64 VSIX for the e2e run (npm run package -- --target linux-x64)');
  const [packed] = await packageTargets({ targets: [linux], out, skipBuild: true, log });
  if (packed!.report.problems.length) throw new Error(`the linux-x64 VSIX is not right:\n${packed!.report.problems.join('\n')}`);
  return packed!.file;
}
