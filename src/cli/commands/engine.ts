import type { Command } from 'commander';
import type { BuildBackendChoice, BuildPhase, EngineStatus } from '../../core/engines/native/build';
import { choiceOption, intOption } from '../options';
import { emit, info, json } from '../output';

/** The builder is loaded when `engine` runs (CLI start stays cheap). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = (): typeof import('../../core/engines/native/build') => require('../../core/engines/native/build') as typeof import('../../core/engines/native/build');

const BACKENDS: readonly BuildBackendChoice[] = ['auto', 'cpu', 'cuda', 'vulkan'];

export function register(program: Command): void {
  const engine = program.command('engine').description('the llama.cpp the GGUF engine runs: native builds for this machine (docs/engines.md)');

  engine
    .command('build')
    .description("compile llama.cpp's llama-server from the bundled source for this machine, offline (cmake; CUDA or Vulkan when present)")
    .option('--backend <backend>', `${BACKENDS.join(' | ')} (auto: CUDA when nvcc and an NVIDIA GPU are here, else Vulkan when glslc and a Vulkan device are, else CPU)`, choiceOption('backend', BACKENDS), 'auto')
    .option('--jobs <n>', 'parallel compile jobs (default: the number of CPUs)', intOption('--jobs', 1, 1024))
    .option('--dir <buildsDir>', 'builds folder (default $SOVEREIGN_LLAMA_CPP_BUILDS, else ~/.cache/sovereign/llama.cpp)')
    .option('--force', 'rebuild even when a finished build exists')
    .option('--json', 'print the build (binary, folder, record) as JSON')
    .action(async (opts: { backend: BuildBackendChoice; jobs?: number; dir?: string; force?: boolean; json?: boolean }) => {
      const { buildLlamaServer } = native();
      const controller = new AbortController();
      // The build's tools run in their own process groups: a terminal's Ctrl-C reaches only this process, which
      // then stops them and removes the work folder.
      // Kept until the build has stopped: a second Ctrl-C must not end this process before its children.
      const stop = (signal: NodeJS.Signals): void => {
        if (controller.signal.aborted) return;
        info(`sovereign engine build: ${signal}: cancelling the build...`);
        controller.abort();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      let phase: BuildPhase | undefined;
      let shown = -1;
      let compiled = false;
      try {
        const build = await buildLlamaServer({
          buildsDir: opts.dir,
          backend: opts.backend,
          jobs: opts.jobs,
          force: opts.force,
          signal: controller.signal,
          onProgress: (p) => {
            compiled = true;
            if (p.phase !== phase) {
              phase = p.phase;
              info(`llama.cpp build: ${p.phase}${p.line ? `: ${p.line}` : ''}`);
              return;
            }
            // Every 5% of the compile, and the lines that are not progress only when they say something went wrong.
            if (p.percent !== undefined && p.percent >= shown + 5) {
              shown = p.percent;
              info(`llama.cpp build: compile ${p.percent}%`);
            } else if (p.line && /\b(error|warning: unused|fatal)\b/i.test(p.line)) {
              info(`  ${p.line}`);
            }
          },
        });
        if (!compiled) info(`llama.cpp build: ${build.dir} is already built (${build.record.backend}, ${build.record.builtAt}); --force rebuilds it`);
        await emit(opts.json ? json({ schema: 'sovereign.engine-build/v1', built: compiled, binaryPath: build.binaryPath, dir: build.dir, record: build.record }) : `${build.binaryPath}\n`);
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
    });

  engine
    .command('status')
    .description('the bundled llama.cpp commit, the native builds found (each verified), and which llama.cpp the GGUF engine would use')
    .option('--dir <buildsDir>', 'builds folder (default $SOVEREIGN_LLAMA_CPP_BUILDS, else ~/.cache/sovereign/llama.cpp)')
    .option('--json', 'print the status as JSON')
    .action(async (opts: { dir?: string; json?: boolean }) => {
      const status = await native().engineStatus({ buildsDir: opts.dir });
      await emit(opts.json ? json(status) : renderStatus(status));
      // A build whose binary changed (or a broken build folder) is a finding: exit 1.
      process.exitCode = status.builds.some((b) => !b.ok) || status.gguf.llamaCpp === 'refused' ? 1 : 0;
    });
}

function renderStatus(s: EngineStatus): string {
  const lines = [
    `llama.cpp source: ${s.bundle.path}${s.bundle.commit ? ` (commit ${s.bundle.commit})` : ''}`,
    ...(s.bundle.error ? [`  ${s.bundle.error.replace(/\n/g, '\n  ')}`] : []),
    `builds dir: ${s.buildsDir}`,
    `engine build --backend auto would build: ${s.autoBackend.backend} (${s.autoBackend.reason})`,
    s.builds.length ? 'builds:' : 'builds: none',
  ];
  for (const b of s.builds) {
    if (b.ok) lines.push(`  ok       ${b.name}  ${b.backend}  ${b.binaryPath}  built ${b.builtAt}${b.bundled ? '' : '  (not the bundled commit: unused)'}`);
    else lines.push(`  REFUSED  ${b.name}: ${b.error}`, ...(b.hint ? [`    hint: ${b.hint}`] : []));
  }
  const g = s.gguf;
  lines.push(
    g.llamaCpp === 'native' ? `GGUF engine: native build ${g.binaryPath} (${g.backend})`
    : g.llamaCpp === 'prebuilt' ? `GGUF engine: prebuilt node-llama-cpp (${g.reason})`
    : `GGUF engine: refuses the native build: ${g.error}${g.hint ? `\n  hint: ${g.hint}` : ''}`,
  );
  return lines.join('\n') + '\n';
}
