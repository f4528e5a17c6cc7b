import { execFile } from 'node:child_process';
import { IoError } from '../util/errors';

export interface HistoryEntry {
  commit: string;
  author: string;
  email: string;
  date: string;
  subject: string;
  files: string[];
}

/**
 * The registry's use of git: commits that contain ONLY the registry files an operation wrote, whatever
 * else the user has changed or staged, and an exact undo of the index when a commit fails.
 */
export class RegistryGit {
  constructor(readonly root: string) {}

  /** Index entries (`mode sha stage\tpath`) of these paths, to restore them exactly after a failure. */
  async indexEntries(paths: readonly string[]): Promise<string[]> {
    const out = await this.run(['ls-files', '--stage', '-z', '--', ...paths]);
    return out.split('\0').filter(Boolean);
  }

  /** Puts the index entries of `paths` back to what `indexEntries` saw. */
  async restoreIndex(paths: readonly string[], saved: readonly string[]): Promise<void> {
    // --force-remove drops the entries whatever they hold (`git rm --cached` refuses staged content that
    // differs from both the file and HEAD, e.g. an audit log another process appended to meanwhile).
    await this.run(['update-index', '--force-remove', '--', ...paths]);
    for (const line of saved) {
      const [meta, path] = line.split('\t');
      const [mode, sha] = meta.split(' ');
      await this.run(['update-index', '--add', '--cacheinfo', `${mode},${sha},${path}`]);
    }
  }

  /**
   * Stages and commits exactly `paths` (`git commit --only`): other staged or unstaged changes stay as
   * they were, neither committed nor unstaged. Returns the new commit id.
   */
  async commitOnly(paths: readonly string[], message: string): Promise<string> {
    await this.run(['add', '--all', '--', ...paths]);
    await this.run(['commit', '--quiet', '--only', '-m', message, '--', ...paths]);
    return (await this.run(['rev-parse', 'HEAD'])).trim();
  }

  /** Commits touching a path, newest first (who changed what and when). */
  async history(path: string): Promise<HistoryEntry[]> {
    let out: string;
    try {
      out = await this.run(['log', '--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%s', '--name-only', '--', path]);
    } catch {
      return []; // no commits yet
    }
    return out
      .split('\x1e')
      .filter((s) => s.trim())
      .map((record) => {
        const [head, ...rest] = record.split('\n');
        const [commit, author, email, date, subject] = head.split('\x1f');
        return { commit, author, email, date, subject, files: rest.map((l) => l.trim()).filter(Boolean) };
      });
  }

  /**
   * Runs git and fails on ANY non-zero exit status. (simple-git's raw() resolved when a command failed
   * without writing to stderr: a pre-commit hook that exits 1 silently looked like a successful commit.)
   */
  run(args: string[]): Promise<string> {
    return new Promise((resolveRun, reject) => {
      execFile('git', args, { cwd: this.root, maxBuffer: 256 * 1024 * 1024, windowsHide: true }, (err, stdout, stderr) => {
        if (!err) return resolveRun(stdout);
        const text = (stderr || stdout || err.message).trim().split('\n').filter(Boolean).slice(0, 3).join(' / ') || `exit status ${String(err.code)}`;
        reject(new IoError(`git ${args[0]} failed: ${text}`, gitHint(text)));
      });
    });
  }
}

function gitHint(text: string): string {
  if (/user\.(name|email)|identity/i.test(text)) return 'set your identity: git config user.name "..." && git config user.email "..."';
  if (/index\.lock/.test(text)) return 'another git process is running in this repository; wait and retry';
  if (/hook/i.test(text)) return 'a git hook refused the commit; fix what it reports and retry';
  return 'check the repository state with `git status`';
}
