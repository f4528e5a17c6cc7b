import type { Command } from 'commander';
import { generateKeys } from '../../core/signing/keys';
import { emit, info, json } from '../output';

export function register(program: Command): void {
  program
    .command('keygen')
    .description('create an EC P-256 key pair for signing models (private.pem, public.pem)')
    .requiredOption('--out <dir>', 'folder for the keys (created; existing keys are never overwritten)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nKeep private.pem secret (mode 0600); share public.pem and list it in signature.trusted_keys of .sovereign/policy.yaml.\nExit status: 0 created, 2 usage or I/O error.')
    .action(async (opts: { out: string; json?: boolean }) => {
      const keys = await generateKeys(opts.out);
      if (opts.json) await emit(json(keys));
      else {
        await emit(`${keys.publicKeyPath}\n`);
        info(`private key: ${keys.privateKeyPath} (keep it secret)\nkey id:      ${keys.keyId}`);
      }
    });
}
