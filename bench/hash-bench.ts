import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, repoRoot, round, timeCommand } from './util';

const GIB = 1024 * 1024 * 1024;

/**
 * sha256 throughput of `sovereign hash` (process start included) against `openssl dgst -sha256` on the same
 * 1 GiB file, alternating runs so both see the same page cache and machine load. Goal: >= 0.9x OpenSSL,
 * RSS growth < 64 MiB.
 */
export async function run(): Promise<Record<string, unknown>> {
  const root = repoRoot();
  const file = join(tmpdir(), `sovereign-hash-bench-${process.pid}.bin`);
  const small = `${file}.small`;
  await writeNoise(file, GIB);
  await writeNoise(small, 1024);
  const probe = join(root, 'out', 'bench', 'rss-probe.js');
  const cli = join(root, 'dist', 'cli.js');
  try {
    await timeCommand('openssl', ['dgst', '-sha256', file]); // warm the page cache
    const ours: number[] = [];
    const openssl: number[] = [];
    let rssBig = 0;
    for (let i = 0; i < 3; i++) {
      const a = await timeCommand('openssl', ['dgst', '-sha256', file]);
      const b = await timeCommand(process.execPath, ['-r', probe, cli, 'hash', file]);
      if (a.code !== 0 || b.code !== 0) throw new Error(`hash failed: ${a.stderr}${b.stderr}`);
      const digestA = a.stdout.trim().split('= ')[1];
      const digestB = b.stdout.split(' ')[0];
      if (digestA !== digestB) throw new Error(`digests differ: openssl ${digestA} vs sovereign ${digestB}`);
      openssl.push(a.ms);
      ours.push(b.ms);
      rssBig = Math.max(rssBig, maxRss(b.stderr));
    }
    const baseline = await timeCommand(process.execPath, ['-r', probe, cli, 'hash', small]);
    const rssGrowthMiB = (rssBig - maxRss(baseline.stderr)) / 1024;
    const oursMBs = GIB / 1e6 / (median(ours) / 1000);
    const opensslMBs = GIB / 1e6 / (median(openssl) / 1000);
    return {
      fileBytes: GIB,
      sovereignHashMs: round(median(ours), 1),
      opensslMs: round(median(openssl), 1),
      sovereignMBps: round(oursMBs, 1),
      opensslMBps: round(opensslMBs, 1),
      ratioVsOpenssl: round(oursMBs / opensslMBs),
      goalRatio: 0.9,
      rssGrowthMiB: round(rssGrowthMiB, 1),
      goalRssGrowthMiB: 64,
    };
  } finally {
    await rm(file, { force: true });
    await rm(small, { force: true });
  }
}

function maxRss(stderr: string): number {
  const m = /MAXRSS_KB (\d+)/.exec(stderr);
  return m ? Number(m[1]) : 0;
}

async function writeNoise(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const chunk = Buffer.alloc(Math.min(size, 8 * 1024 * 1024));
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
    for (let written = 0; written < size; written += chunk.length) {
      await fh.write(chunk, 0, Math.min(chunk.length, size - written));
    }
  } finally {
    await fh.close();
  }
}
