// @vscode/test-cli configuration (`npm run test:extension:desktop`, or the VS Code "Extension Test
// Runner"): runs the extension-host suite (out/test/extension/**/*.ext.js) in a desktop VS Code that
// @vscode/test-electron downloads. Machines that cannot download VS Code run the SAME suite inside
// code-server instead: `npm run test:extension` (scripts/e2e/run.ts). Build first: `npm run build`.
import { defineConfig } from '@vscode/test-cli';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default defineConfig({
  label: 'extension-host',
  files: 'out/test/extension/**/*.ext.js',
  version: 'stable',
  // The suites expect exactly one folder open; a fresh empty one keeps runs independent.
  workspaceFolder: mkdtempSync(join(tmpdir(), 'sovereign-ext-workspace-')),
  launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  env: { SOVEREIGN_E2E: '1' },
  mocha: { ui: 'bdd', timeout: 60000, color: true },
});
