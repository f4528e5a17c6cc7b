import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';

/**
 * Who did it: git's author identity from the environment, else the repository's git config, else the
 * operating-system user. Names and emails only (no tokens, no hostnames). Cached per workspace: git
 * config is read once per process.
 */
const cache = new Map<string, Promise<string>>();

export function actorFor(workspaceRoot: string): Promise<string> {
  const env = process.env;
  const name = env.GIT_AUTHOR_NAME ?? env.GIT_COMMITTER_NAME;
  const email = env.GIT_AUTHOR_EMAIL ?? env.GIT_COMMITTER_EMAIL;
  if (name || email) return Promise.resolve(format(name, email));
  let p = cache.get(workspaceRoot);
  if (!p) {
    p = Promise.all([gitConfig(workspaceRoot, 'user.name'), gitConfig(workspaceRoot, 'user.email')]).then(([n, e]) =>
      n || e ? format(n, e) : osUser(),
    );
    cache.set(workspaceRoot, p);
  }
  return p;
}

function format(name?: string, email?: string): string {
  return name && email ? `${name} <${email}>` : (name ?? `<${email}>`);
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

function gitConfig(cwd: string, key: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    // A missing git, a folder outside a repository or a slow disk must not block the log: 2 s at most.
    execFile('git', ['config', '--get', key], { cwd, timeout: 2000, windowsHide: true }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim() || undefined),
    );
  });
}
