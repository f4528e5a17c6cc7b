import type { Command } from 'commander';
import { loadPolicy } from '../../core/policy/load';
import { revokedKeys } from '../../core/policy/evaluate';
import { locateWorkspace } from '../../core/workspace/workspace';
import { loadKeyring } from '../../core/signing/keys';
import { loadCertificates } from '../../core/signing/certificates';
import { verifyModel } from '../../core/signing/model';
import { emit, info, json } from '../output';
import { collect } from '../options';
import { auditInWorkspace } from '../workspace';

export function register(program: Command): void {
  program
    .command('verify')
    .description('verify the OMS signature of a model file or folder')
    .argument('<model-path>', 'model file or folder')
    .option('--key <public.pem>', 'trusted public key, or a folder of them (repeat for several keys: rotation)', collect)
    .option('--ca <ca.pem>', 'trusted CA certificate(s) for certificate-flavour signatures (PEM, repeatable)', collect)
    .option('--signature <file>', 'signature file (default: model.sig inside a folder, FILE.sig beside a file)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nRevoked keys listed in the workspace policy are refused.\nExit status: 0 valid, 1 invalid (the reason names the file, the key or the problem), 2 usage or I/O error.')
    .action(async (modelPath: string, opts: { key?: string[]; ca?: string[]; signature?: string; json?: boolean }) => {
      const keys = await loadKeyring(opts.key ?? []);
      const roots = await loadCertificates(opts.ca ?? []);
      // Outside a workspace (or without a policy) nothing is revoked; a malformed policy is an error (exit 2),
      // never a silent "nothing revoked".
      const at = await locateWorkspace(process.cwd());
      const revoked = revokedKeys((await loadPolicy(at.git ? at.root : undefined)).policy);
      const result = await verifyModel(modelPath, { keys, roots, signaturePath: opts.signature, revoked });
      await auditInWorkspace({ action: 'verify', subject: modelPath, details: { ok: result.valid, keyId: result.keyId, reason: result.reason } });
      if (opts.json) await emit(json(result));
      else if (result.valid) {
        await emit(`valid: ${result.resources} file(s) match, signed by key ${result.keyId} (${result.keySource})\n`);
      } else {
        await emit(`INVALID: ${result.reason}\n`);
        if (result.keyId) info(`the signature itself is by key ${result.keyId} (${result.keySource})`);
      }
      process.exitCode = result.valid ? 0 : 1;
    });
}
