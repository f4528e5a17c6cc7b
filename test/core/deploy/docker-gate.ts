import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dockerAvailability } from '../../../src/core/deploy/engine';
import { productRoot } from '../../../src/core/deploy/product-root';

/**
 * The Docker suites run against the REAL engine. In CI (CI=true) a missing engine or bundle FAILS the run:
 * .ci/run starts dockerd, so a missing one is a broken pipeline, never a silent pass. Elsewhere (a laptop
 * without Docker) the suite is skipped with a loud message that says why and how to run it.
 */
export async function requireDocker(ctx: Mocha.Context, suite: string): Promise<void> {
  const reasons: string[] = [];
  const engine = await dockerAvailability();
  if (!engine.available) reasons.push(`${engine.reason}`);
  const cli = join(productRoot(), 'dist', 'cli.js');
  if (!existsSync(cli)) reasons.push(`${cli} is missing (run \`npm run build\` or \`node esbuild.mjs\`): the image is built from it`);
  const pool = process.env.SOVEREIGN_TEST_EGRESS_ALLOW;
  if (!pool) reasons.push('SOVEREIGN_TEST_EGRESS_ALLOW is not set: the test no-egress guard would refuse the containers\' bridge addresses (`source scripts/docker/start-dockerd.sh` sets it)');
  if (!reasons.length) return;
  const message = `${suite}: the Docker engine suite cannot run:\n  - ${reasons.join('\n  - ')}`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${message}\n(CI=true: failing instead of skipping)`);
  process.stderr.write(`\n!!! SKIPPED ${message}\n!!! start an engine with \`source scripts/docker/start-dockerd.sh\` (root) to run it.\n\n`);
  ctx.skip();
}
