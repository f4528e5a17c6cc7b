/** The connection options shared by `push`, `pull` and `registry sync` (registry auth, TLS, chunk size). */
import type { Command } from 'commander';
import type { OciConnectOptions } from '../core/govern/oci-transfer';
import { UsageError } from '../core/util/errors';
import { info } from './output';
import { intOption } from './options';

export interface ConnectFlags {
  caFile?: string;
  insecure?: boolean;
  username?: string;
  passwordStdin?: boolean;
  chunkMib?: number;
  json?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export async function connectOptions(flags: ConnectFlags): Promise<OciConnectOptions> {
  if (flags.passwordStdin && !flags.username) throw new UsageError('--password-stdin needs --username');
  if (flags.username && !flags.passwordStdin) throw new UsageError('--username needs --password-stdin', 'pipe the password: `printf %s "$PASSWORD" | sovereign push ... --username USER --password-stdin`');
  const credentials = flags.username ? { username: flags.username, password: await readStdin(), source: '--username/--password-stdin' } : undefined;
  let last = '';
  return {
    caFile: flags.caFile,
    insecure: flags.insecure,
    credentials,
    chunkSize: flags.chunkMib ? flags.chunkMib * 1024 * 1024 : undefined,
    onStage: (stage, detail) => info(`${stage === 'warning' ? 'warning' : stage}${detail ? `: ${detail}` : ''}`),
    onProgress: (done, total, what) => {
      if (!process.stderr.isTTY) return;
      const line = `  ${what}: ${Math.floor((done / Math.max(total, 1)) * 100)}%`;
      if (line !== last) process.stderr.write(`\r${line}`);
      last = line;
      if (done >= total) process.stderr.write('\n');
    },
  };
}

export function connectFlags(cmd: Command): Command {
  return cmd
    .option('--ca-file <ca.pem>', 'trust this CA for the registry\'s TLS certificate (in addition to the system\'s)')
    .option('--insecure', 'allow plain HTTP to a registry that is not on loopback (loopback may always use it)')
    .option('--username <user>', 'registry user (with --password-stdin); default: the docker config file and its credential helpers')
    .option('--password-stdin', 'read the registry password or token from stdin')
    .option('--chunk-mib <n>', 'upload chunk size in MiB (default 64)', intOption('--chunk-mib', 1, 4096))
    .option('--json', 'print the result as JSON');
}

