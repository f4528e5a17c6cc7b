/**
 * Entry point of the extension-host suite, loaded by VS Code itself (`--extensionTestsPath`):
 * @vscode/test-electron calls `run()` in desktop VS Code, and scripts/e2e/extension-host.ts loads the
 * same module in code-server's extension host. Suites are `*.ext.js` files next to this one (named so
 * the unit-test glob `out/test/**\/*.test.js` never picks them up: they need the `vscode` API).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function suiteFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...suiteFiles(path));
    else if (entry.name.endsWith('.ext.js')) files.push(path);
  }
  return files.sort();
}

export function run(): Promise<void> {
  return runSuites(__dirname);
}

/** Runs every `*.ext.js` suite under `dir` (the multi-root suite, test/extension-multiroot, has its own entry). */
export async function runSuites(dir: string): Promise<void> {
  const mocha = new Mocha({
    ui: 'bdd',
    color: false,
    timeout: Number(process.env.SOVEREIGN_EXT_TEST_TIMEOUT ?? 60_000),
    grep: process.env.SOVEREIGN_EXT_TEST_GREP || undefined,
  });
  for (const file of suiteFiles(dir)) mocha.addFile(file);
  await mocha.loadFilesAsync();
  const failures = await new Promise<number>((done) => mocha.run(done));
  if (failures > 0) throw new Error(`${failures} extension-host test(s) failed.`);
}
