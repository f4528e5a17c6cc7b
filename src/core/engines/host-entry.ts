import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface HostEntry {
  script: string;
  execArgv: string[];
}

/**
 * Where the engine host script is, for every way this code runs: bundled (dist/engine-host.js next to
 * dist/cli.js or dist/extension.js), compiled by tsc (out/src/core/engines/host/engine-host.js), or from
 * TypeScript sources under tsx (tests run without a build). SOVEREIGN_ENGINE_HOST overrides it.
 */
export function engineHostEntry(env: NodeJS.ProcessEnv = process.env): HostEntry {
  if (env.SOVEREIGN_ENGINE_HOST) return { script: env.SOVEREIGN_ENGINE_HOST, execArgv: [] };
  const bundled = join(__dirname, 'engine-host.js');
  if (existsSync(bundled)) return { script: bundled, execArgv: [] };
  const compiled = join(__dirname, 'host', 'engine-host.js');
  if (existsSync(compiled)) return { script: compiled, execArgv: [] };
  const source = join(__dirname, 'host', 'engine-host.ts');
  // A development-only dependency: named through a variable so bundlers leave it alone.
  const tsxHook = 'tsx/cjs';
  if (existsSync(source)) return { script: source, execArgv: ['--require', require.resolve(tsxHook)] };
  throw new Error(`the engine host script is missing next to ${__dirname}; rebuild with "npm run build"`);
}
