import type { Command } from 'commander';
import { sha256File } from '../../core/hash/sha256';
import { describeError } from '../../core/util/errors';
import { emit } from '../output';

export function register(program: Command): void {
  program
    .command('hash')
    .description('print sha256 digests the way sha256sum does (streaming, constant memory)')
    .argument('<files...>')
    .action(async (files: string[]) => {
      let failed = false;
      for (const file of files) {
        try {
          await emit(`${await sha256File(file)}  ${file}\n`);
        } catch (err) {
          failed = true;
          process.stderr.write(`sovereign hash: ${describeError(err)}\n`);
        }
      }
      process.exitCode = failed ? 2 : 0;
    });
}
