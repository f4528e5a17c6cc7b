/**
 * Root hooks of the e2e run (loaded by test/e2e/mocharc.json): one session for all `*.e2e.ts` files,
 * a screenshot after every test, and at the end the assertion that nothing tried to reach another
 * machine (browser requests, the server's proxy, the server and extension host logs).
 */
import { strict as assert } from 'node:assert';
import type { Context } from 'mocha';
import { startSession, stopSession } from './session';
import { screenshotAfterTest } from './workbench';

// Cold start installs code-server (~3-5 min, once); warm it takes seconds.
const SESSION_START_TIMEOUT_MS = 15 * 60_000;

export const mochaHooks = {
  async beforeAll(this: Context): Promise<void> {
    this.timeout(SESSION_START_TIMEOUT_MS);
    await startSession();
  },
  async afterEach(this: Context): Promise<void> {
    if (this.currentTest) await screenshotAfterTest(this.currentTest);
  },
  async afterAll(this: Context): Promise<void> {
    this.timeout(60_000);
    const report = await stopSession();
    if (!report) return;
    const lines = [
      ...report.browser.map((u) => `browser request: ${u}`),
      ...report.proxy.map((l) => `server/extension host request: ${l}`),
      ...report.logLines.map((l) => `log: ${l.trim().slice(0, 300)}`),
    ];
    process.stderr.write(`  [e2e] outbound attempts: ${lines.length}\n`);
    assert.deepEqual(lines, [], `Something tried to reach a host outside this machine:\n${lines.join('\n')}`);
  },
};
