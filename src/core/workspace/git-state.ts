import { execFile } from 'node:child_process';

function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((done) =>
    execFile('git', args, { cwd, timeout: 5000, windowsHide: true }, (err, stdout) => done(err ? undefined : stdout.trim())),
  );
}

export interface GitState {
  commit?: string;
  branch?: string;
  /** Files under .sovereign/ changed and not committed. */
  uncommitted: string[];
}

/** Where the workspace's history stands: an auditor ties the bundle to a commit. */
export async function gitState(root: string): Promise<GitState | undefined> {
  const commit = await git(root, ['rev-parse', 'HEAD']);
  if (commit === undefined && (await git(root, ['rev-parse', '--git-dir'])) === undefined) return undefined;
  const branch = await git(root, ['rev-parse', '--abbrev-ref', 'HEAD']);
  const status = await git(root, ['status', '--porcelain', '--', '.sovereign']);
  return {
    commit: commit || undefined,
    branch: branch && branch !== 'HEAD' ? branch : undefined,
    uncommitted: (status ?? '').split('\n').filter(Boolean).map((l) => l.slice(3)),
  };
}
