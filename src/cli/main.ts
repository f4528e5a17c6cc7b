import { Command, CommanderError } from 'commander';
import { installProcessEgressGuard } from '../core/govern/egress/process-guard';
import { EgressViolationError } from '../core/net/socket-guard';
import { describeError, SovereignError } from '../core/util/errors';
import { VERSION } from '../core/version';

/** A module under ./commands: registers one or more top-level commands (with their options and actions). */
export interface CommandModule {
  register(program: Command): void;
}

/**
 * Every top-level command and the module that registers it, loaded only when it is needed: `sovereign scan`
 * loads the scan module alone, `--version` none, help (or an unknown command) all of them, so help lists every
 * command exactly as the modules describe it. The modules stay in the one CLI bundle (esbuild turns each
 * `require()` below into a lazily initialised module), so their code runs only when the command does.
 * Adding a command: one line here, `name: () => require('./commands/<file>') as CommandModule`; a module that
 * registers several top-level commands gets one line per name, with the same loader (test/cli/lazy-commands.test.ts
 * checks the table against the modules). See docs/ARCHITECTURE.md.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const COMMANDS: Readonly<Record<string, () => CommandModule>> = {
  scan: () => require('./commands/scan') as CommandModule,
  inspect: () => require('./commands/inspect') as CommandModule,
  hash: () => require('./commands/hash') as CommandModule,
  keygen: () => require('./commands/keygen') as CommandModule,
  sign: () => require('./commands/sign') as CommandModule,
  verify: () => require('./commands/verify') as CommandModule,
  registry: () => require('./commands/registry') as CommandModule,
  lineage: () => require('./commands/lineage') as CommandModule,
  policy: () => require('./commands/policy') as CommandModule,
  serve: () => require('./commands/serve') as CommandModule,
  bench: () => require('./commands/bench') as CommandModule,
  eval: () => require('./commands/eval') as CommandModule,
  fit: () => require('./commands/fit') as CommandModule,
  deploy: () => require('./commands/deploy') as CommandModule,
  audit: () => require('./commands/audit') as CommandModule,
  evidence: () => require('./commands/evidence') as CommandModule,
  drift: () => require('./commands/drift') as CommandModule,
  tco: () => require('./commands/tco') as CommandModule,
  push: () => require('./commands/oci') as CommandModule,
  pull: () => require('./commands/oci') as CommandModule,
  engine: () => require('./commands/engine') as CommandModule,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Program options that print and exit (commander's own): with these and no command name, no command module is loaded. */
const PRINT_ONLY_OPTIONS = new Set(['-V', '--version']);

/**
 * The command modules argv needs: the named command's module alone; none for `--version`; every module for
 * help, no arguments or an unknown name (so help and "unknown command" list them all). Program options come
 * only before the command name and take no values, so the first argument that is not an option is the name.
 */
export function commandModulesFor(argv: readonly string[]): string[] {
  const all = Object.keys(COMMANDS);
  const at = argv.findIndex((a) => !a.startsWith('-'));
  const programOptions = at < 0 ? argv : argv.slice(0, at);
  if (programOptions.some((a) => a === '-h' || a === '--help')) return all;
  if (at >= 0) return Object.hasOwn(COMMANDS, argv[at]) ? [argv[at]] : all;
  return programOptions.some((a) => PRINT_ONLY_OPTIONS.has(a)) ? [] : all;
}

/** The program with the commands argv needs (all of them by default: help lists every command). */
export function buildProgram(argv?: readonly string[]): Command {
  const program = new Command('sovereign')
    .description('Sovereign Workbench: run and govern AI models on your own machines')
    .version(VERSION)
    // Program options (--version) only before the command name, so `registry add --version 1.0.0` reaches the command.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  // A module that registers several commands (oci: push and pull) is registered once. Keyed by its register
  // function: the bundler may hand out a fresh namespace object on each require() of the same module.
  const registers = new Set((argv ? commandModulesFor(argv) : Object.keys(COMMANDS)).map((name) => COMMANDS[name]().register));
  for (const register of registers) register(program);
  program.commands.forEach(function override(cmd: Command): void {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  });
  return program;
}

/** Runs the CLI. Exit codes: 0 ok, 1 refused / findings / invalid, 2 usage or I/O error. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram(argv);
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
