import { Command, CommanderError } from 'commander';
import { installProcessEgressGuard } from '../core/govern/egress/process-guard';
import { EgressViolationError } from '../core/net/socket-guard';
import { describeError, SovereignError } from '../core/util/errors';
import { VERSION } from '../core/version';
import * as scan from './commands/scan';
import * as inspect from './commands/inspect';
import * as hash from './commands/hash';
import * as keygen from './commands/keygen';
import * as sign from './commands/sign';
import * as verify from './commands/verify';
import * as registry from './commands/registry';
import * as lineage from './commands/lineage';
import * as policy from './commands/policy';
import * as serve from './commands/serve';
import * as bench from './commands/bench';
import * as evaluate from './commands/eval';
import * as fit from './commands/fit';
import * as deploy from './commands/deploy';
import * as audit from './commands/audit';
import * as evidence from './commands/evidence';
import * as drift from './commands/drift';
import * as tco from './commands/tco';
import * as oci from './commands/oci';

/** Every command family registers itself; main only wires exit codes and errors. */
const COMMANDS = [scan, inspect, hash, keygen, sign, verify, registry, lineage, policy, serve, bench, evaluate, fit, deploy, audit, evidence, drift, tco, oci];

export function buildProgram(): Command {
  const program = new Command('sovereign')
    .description('Sovereign Workbench: run and govern AI models on your own machines')
    .version(VERSION)
    // Program options (--version) only before the command name, so `registry add --version 1.0.0` reaches the command.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const c of COMMANDS) c.register(program);
  program.commands.forEach(function override(cmd: Command): void {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  });
  return program;
}

/** Runs the CLI. Exit codes: 0 ok, 1 refused / findings / invalid, 2 usage or I/O error. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; they exit 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    // A connection the egress guard refused, however deep a library wrapped it (fetch failed, dockerode):
    // the refusal itself is what the person needs to read, exit 1.
    const refused = egressRefusal(err);
    if (refused) {
      process.stderr.write(`sovereign: ${refused.describe()}\n`);
      return refused.exitCode;
    }
    process.stderr.write(`sovereign: ${describeError(err)}\n`);
    return err instanceof SovereignError ? err.exitCode : 2;
  }
}

/** The EgressViolationError in an error's cause chain, if any. */
function egressRefusal(err: unknown): EgressViolationError | undefined {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof EgressViolationError) return e;
  }
  return undefined;
}

/**
 * Entry point for bin/sovereign.js and `node dist/cli.js`: every command, `sovereign serve` included (in a
 * terminal, as the extension's supervised child, in the staging container), runs under the process-wide
 * egress guard, installed before anything else runs. Not in main(): tests call main() in their own process.
 */
export function run(): void {
  installProcessEgressGuard('cli');
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`sovereign: internal error: ${describeError(err)}\n`);
      process.exitCode = 2;
    },
  );
}

if (require.main === module) run();
