/**
 * Entry point of the multi-root extension-host suite: the same runner as test/extension/index.ts, for the
 * suites in this folder, which expect the window to hold the multi-root workspace that
 * scripts/e2e/multi-root-workspace.ts prepares (test/e2e/extension-host.e2e.ts opens it).
 */
import { runSuites } from '../extension/index';

export function run(): Promise<void> {
  return runSuites(__dirname);
}
