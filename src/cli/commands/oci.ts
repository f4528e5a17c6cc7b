import type { Command } from 'commander';
import { pullArtifact, PullRefused, pushVersion } from '../../core/govern/oci-transfer';
import { findWorkspaceRoot } from '../../core/workspace/workspace';
import { UsageError } from '../../core/util/errors';
import { connectFlags, connectOptions, type ConnectFlags } from '../oci-options';
import { emit, info, json } from '../output';
import { collect } from '../options';

export function register(program: Command): void {
  connectFlags(
    program
      .command('push')
      .description('publish a registered version as a signed ModelPack OCI artifact (registry or OCI layout folder)')
      .argument('<model>', 'NAME@VERSION (or NAME@ALIAS)')
      .argument('[ref]', 'oci://HOST[:PORT]/REPO[:TAG] (tag defaults to the version), or oci:DIR[:TAG]')
      .option('--to-dir <dir>', 'write an OCI image layout folder instead (for an air-gapped transfer; `pull oci:DIR:TAG` reads it)')
      .option('--mount-from <repo>', 'another repository of the same registry to mount blobs from (repeatable)', collect),
  )
    .addHelpText('after', '\nExit status: 0 published, 1 refused (signature, scan, policy, registry access), 2 usage or I/O error.')
    .action(async (model: string, ref: string | undefined, opts: ConnectFlags & { toDir?: string; mountFrom?: string[] }) => {
      if (!!ref === !!opts.toDir) throw new UsageError(ref ? 'give either REF or --to-dir, not both' : 'name where to push', 'sovereign push NAME@VERSION oci://HOST/REPO[:TAG], or --to-dir DIR');
      const root = await findWorkspaceRoot(process.cwd());
      const destination = ref ?? `oci:${opts.toDir}`;
      const result = await pushVersion(root, model, destination, { ...(await connectOptions(opts)), mountFrom: opts.mountFrom });
      if (opts.json) await emit(json({ ok: true, ...result }));
      else {
        await emit(`pushed ${result.model} to ${result.target}@${result.digest}\n`);
        for (const l of result.layers) info(`  ${l.path}  ${l.digest}  ${l.outcome}`);
        for (const r of result.referrers) info(`  referrer ${r.artifactType}  ${r.digest}`);
      }
    });

  connectFlags(
    program
      .command('pull')
      .description('pull a model artifact through the gate (digests, signature, policy, scan), then store and register it')
      .argument('<ref>', 'oci://HOST[:PORT]/REPO:TAG or oci://HOST/REPO@sha256:HEX, or oci:DIR:TAG'),
  )
    .addHelpText('after', '\nExit status: 0 registered (or already registered), 1 refused (digest, signature, policy, scan), 2 usage or I/O error.')
    .action(async (ref: string, opts: ConnectFlags) => {
      const root = await findWorkspaceRoot(process.cwd());
      try {
        const result = await pullArtifact(root, ref, await connectOptions(opts));
        if (opts.json) await emit(json({ ok: true, ...result }));
        else if (result.alreadyRegistered) await emit(`${result.model} is already registered with the same manifest: nothing to do\n`);
        else await emit(`pulled ${result.model} from ${result.source}: ${result.manifestFile} (signature ${result.signature.status}${result.signature.keyId ? `, key ${result.signature.keyId.slice(0, 16)}` : ''}, commit ${result.commit?.slice(0, 8)})\n`);
      } catch (err) {
        if (err instanceof PullRefused && opts.json) {
          await emit(json({ ok: false, stage: err.stage, message: err.message, hint: err.hint }));
          process.exitCode = 1;
          return;
        }
        throw err;
      }
    });
}
