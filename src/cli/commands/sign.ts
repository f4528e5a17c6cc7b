import type { Command } from 'commander';
import { auditInWorkspace } from '../workspace';
import { signModel } from '../../core/signing/model';
import { emit, info, json } from '../output';
import { collect } from '../options';

export function register(program: Command): void {
  program
    .command('sign')
    .description('sign a model file or folder (OpenSSF Model Signing v1.0 bundle, EC P-256 key)')
    .argument('<model-path>', 'model file or folder')
    .requiredOption('--key <private.pem>', 'EC P-256 private key (from `sovereign keygen`)')
    .option('--cert <certificate.pem>', 'certificate flavour: the signing certificate of this key (PEM); the bundle carries it instead of the key hint')
    .option('--cert-chain <chain.pem>', 'certificates that chain --cert to the CA (PEM, repeatable)', collect)
    .option('-o, --output <file>', 'signature file (default: model.sig inside a folder, FILE.sig beside a file)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExit status: 0 signed, 2 usage or I/O error.')
    .action(async (modelPath: string, opts: { key: string; cert?: string; certChain?: string[]; output?: string; json?: boolean }) => {
      const result = await signModel(modelPath, opts.key, { output: opts.output, certificate: opts.cert, certificateChain: opts.certChain });
      await auditInWorkspace({ action: 'sign', subject: modelPath, details: { keyId: result.keyId, files: result.resources.length, signature: result.signaturePath } });
      if (opts.json) await emit(json({ signature: result.signaturePath, keyId: result.keyId, subject: result.subject, resources: result.resources }));
      else {
        await emit(`${result.signaturePath}\n`);
        info(`signed ${result.resources.length} file(s) of ${result.subject} with key ${result.keyId}`);
      }
    });
}

