import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { main } from '../../../src/cli/main';
import { initRegistry } from '../../../src/core/govern/ops';
import { tempDir } from '../../helpers/tmp';

/** A real git repository in a temp folder, with a local identity and a first commit, plus a store outside it. */
export interface TestRepo {
  root: string;
  store: string;
  base: string;
  git(...args: string[]): string;
  write(rel: string, content: string | Buffer): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeRepo(): Promise<TestRepo> {
  const dir = await tempDir('sovereign-registry-');
  const root = join(dir.path, 'repo');
  const store = join(dir.path, 'store');
  await mkdir(root);
  const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Test User');
  git('config', 'user.email', 'test@example.com');
  git('config', 'commit.gpgsign', 'false');
  await writeFile(join(root, 'README.md'), '# test workspace\n');
  git('add', 'README.md');
  git('commit', '-q', '-m', 'initial');
  const previousStore = process.env.SOVEREIGN_STORE;
  process.env.SOVEREIGN_STORE = store;
  return {
    root,
    store,
    base: dir.path,
    git,
    write: async (rel, content) => {
      const p = join(root, rel);
      await mkdir(join(p, '..'), { recursive: true });
      await writeFile(p, content);
      return p;
    },
    cleanup: async () => {
      if (previousStore === undefined) delete process.env.SOVEREIGN_STORE;
      else process.env.SOVEREIGN_STORE = previousStore;
      await dir.cleanup();
    },
  };
}

/**
 * A repository with a registry under a policy of no rules (`version: 1`, committed): for tests of what comes after
 * admission (eval, drift, serving), where the default policy's required fields are beside the point.
 */
export async function makeOpenRegistry(): Promise<TestRepo> {
  const repo = await makeRepo();
  await initRegistry(repo.root);
  await repo.write('.sovereign/policy.yaml', 'version: 1\n');
  repo.git('add', '.sovereign/policy.yaml');
  repo.git('commit', '-qm', 'policy');
  return repo;
}

/** Random bytes: the scanner reports format "unknown" with no findings (a stand-in for weights). */
export function weights(size = 4096): Buffer {
  const b = randomBytes(size);
  b[0] = 0x01; // never a magic number of a known format
  b[b.length - 1] = 0x00; // never a protocol 0/1 pickle STOP
  return b;
}

/** A pickle that calls os.system when loaded: the scanner blocks it whatever its name. */
export const EVIL_PICKLE = Buffer.from("cos\nsystem\n(S'echo pwned'\ntR.", 'latin1');

/** `git status --porcelain` plus every tracked/untracked file's content hash: "exactly as before". */
export async function snapshotTree(repo: TestRepo): Promise<string> {
  const status = repo.git('status', '--porcelain=v1', '--untracked-files=all');
  const index = repo.git('ls-files', '-s');
  const staged = repo.git('diff', '--cached');
  const head = repo.git('rev-parse', 'HEAD');
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name === '.git') continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        files.push(`${relative(repo.root, p)}/`);
        await walk(p);
      } else files.push(`${relative(repo.root, p)} ${createHash('sha256').update(await readFile(p)).digest('hex')}`);
    }
  };
  await walk(repo.root);
  return [head, status, index, staged, ...files].join('\n');
}

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process (`main()`), in `cwd`, capturing stdout/stderr. */
export async function runMain(args: string[], cwd: string): Promise<MainResult> {
  const previousCwd = process.cwd();
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = undefined;
  process.chdir(cwd);
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = undefined;
    process.chdir(previousCwd);
  }
}
