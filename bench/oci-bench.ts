/**
 * `sovereign push` / `sovereign pull` of a large model against a local CNCF distribution registry
 * (Debian's docker-registry), as ratios to `skopeo copy` of the same artifact in the same run, and the
 * peak RSS of the CLI process (constant memory: it must not grow with the model).
 * Size: SOVEREIGN_BENCH_OCI_MIB (default 1024). Needs docker-registry and skopeo on PATH, and a build (dist/).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { makeRepo, runMain } from '../test/core/registry/repo';
import { startRegistry } from '../test/core/oci/registry-server';
import { tempDir } from '../test/helpers/tmp';
import { repoRoot, round, runIfMain } from './util';

interface Run {
  ms: number;
  maxRssMiB?: number;
  code: number | null;
  stderr: string;
}

function timed(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const kb = /MAXRSS_KB (\d+)/.exec(stderr)?.[1];
      resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, code, stderr: stderr.slice(-2000), ...(kb ? { maxRssMiB: round(Number(kb) / 1024, 1) } : {}) });
    });
  });
}

function check(run: Run, what: string): Run {
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}): ${run.stderr}`);
  return run;
}

export async function run(): Promise<Record<string, unknown>> {
  const mib = Number(process.env.SOVEREIGN_BENCH_OCI_MIB ?? 1024);
  const root = repoRoot();
  const cli = join(root, 'dist', 'cli.js');
  const probe = join(root, 'out', 'bench', 'rss-probe.js');
  const dir = await tempDir('sovereign-oci-bench-');
  const reg = await startRegistry(join(dir.path, 'registry'));
  const source = await makeRepo();
  const dest = await makeRepo();
  try {
    const weights = join(dir.path, 'model.bin');
    const handle = await open(weights, 'w');
    const block = randomBytes(16 * 1024 * 1024);
    block[0] = 1;
    for (let i = 0; i < mib / 16; i++) {
      block[1] = i & 0xff; // not one repeated block
      await handle.write(block);
    }
    await handle.close();
    process.env.SOVEREIGN_STORE = source.store;
    for (const args of [['registry', 'init'], ['registry', 'add', weights, '--name', 'big', '--version', '1.0.0', '--license', 'mit', '--source', 'https://example.com/big']]) {
      const r = await runMain(args, source.root);
      if (r.code !== 0) throw new Error(r.stderr);
    }
    process.env.SOVEREIGN_STORE = dest.store;
    if ((await runMain(['registry', 'init'], dest.root)).code !== 0) throw new Error('init');
    const node = process.execPath;
    const sovereign = (repo: typeof source, args: string[]): Promise<Run> => timed(node, ['-r', probe, cli, ...args], repo.root, { SOVEREIGN_STORE: repo.store, DOCKER_CONFIG: join(dir.path, 'docker') });

    const push = check(await sovereign(source, ['push', 'big@1.0.0', `oci://${reg.host}/bench/big`]), 'sovereign push');
    const layout = join(dir.path, 'layout');
    check(await sovereign(source, ['push', 'big@1.0.0', '--to-dir', layout]), 'sovereign push --to-dir');
    const skopeoPush = check(await timed('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:1.0.0`, `docker://${reg.host}/bench/skopeo:1.0.0`], dir.path), 'skopeo copy (push)');
    const pull = check(await sovereign(dest, ['pull', `oci://${reg.host}/bench/big:1.0.0`]), 'sovereign pull');
    const skopeoPull = check(await timed('skopeo', ['copy', '--src-tls-verify=false', `docker://${reg.host}/bench/big:1.0.0`, `oci:${join(dir.path, 'skopeo-layout')}:1.0.0`], dir.path), 'skopeo copy (pull)');
    const mibPerS = (ms: number): number => round(mib / (ms / 1000), 1);
    return {
      sizeMiB: mib,
      push: { seconds: round(push.ms / 1000, 2), mibPerS: mibPerS(push.ms), maxRssMiB: push.maxRssMiB },
      skopeoPush: { seconds: round(skopeoPush.ms / 1000, 2), mibPerS: mibPerS(skopeoPush.ms) },
      pushRatioToSkopeo: round(skopeoPush.ms / push.ms, 2),
      pull: { seconds: round(pull.ms / 1000, 2), mibPerS: mibPerS(pull.ms), maxRssMiB: pull.maxRssMiB, note: 'includes the gate: scan of the downloaded weights, store, commit' },
      skopeoPull: { seconds: round(skopeoPull.ms / 1000, 2), mibPerS: mibPerS(skopeoPull.ms) },
      pullRatioToSkopeo: round(skopeoPull.ms / pull.ms, 2),
      goals: { ratio: '>= 0.9', maxRssMiB: '< 128' },
    };
  } finally {
    await reg.stop();
    await source.cleanup();
    await dest.cleanup();
    await dir.cleanup();
  }
}

runIfMain(module, run);
