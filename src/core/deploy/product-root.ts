import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The installed product (where dist/ and node_modules/ live), not the user's workspace: the image is
 * built from the runtime the CLI itself runs from. Works from dist/cli.js, out/ and the TypeScript sources.
 */
export function productRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        // tsc copies package.json into out/ (it is imported for the version): a product root also has its
        // runtime (dist/) or its build script; out/ has neither.
        const ours = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sovereign-workbench';
        if (ours && (existsSync(join(dir, 'dist')) || existsSync(join(dir, 'esbuild.mjs')))) return dir;
      } catch {
        // not ours: keep looking upwards.
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the Sovereign Workbench installation above ${from}`);
    dir = up;
  }
}
