import * as vscode from 'vscode';
import { BuildCancelledError, buildLlamaServer, type BuildBackendChoice, type BuildPhase } from '../../core/engines/native/build';
import type { NativeBuildRecord } from '../../core/engines/native/builds';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices } from '../context';

/** What the command returns (to tasks, other extensions and tests); undefined when it failed or was cancelled. */
export interface EngineBuildResult {
  binaryPath: string;
  dir: string;
  record: NativeBuildRecord;
  /** False when a finished build was found and returned as it is. */
  built: boolean;
}

/** Optional argument (tasks, other extensions, tests); the palette passes none: the default builds dir, `auto`. */
export interface EngineBuildArgs {
  buildsDir?: string;
  backend?: BuildBackendChoice;
  jobs?: number;
  force?: boolean;
}

const PHASES: Record<BuildPhase, string> = { clone: 'copying the llama.cpp source', configure: 'configuring (cmake)', compile: 'compiling llama-server', install: 'checking and installing the binary' };

/**
 * Sovereign: Build llama.cpp for This Machine: `buildLlamaServer` (src/core/engines/native/build.ts) behind a
 * cancellable progress notification. The compile runs in child processes; Cancel stops them and keeps nothing.
 */
export function registerEngineBuildCommand(services: ExtensionServices): void {
  services.context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.engine.build', async (args?: EngineBuildArgs): Promise<EngineBuildResult | undefined> => {
      const log = services.log;
      let built = false;
      try {
        const build = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'Sovereign: building llama.cpp for this machine', cancellable: true },
          (progress, token) => {
            const controller = new AbortController();
            const cancel = token.onCancellationRequested(() => controller.abort());
            let phase: BuildPhase | undefined;
            let percent = 0;
            return buildLlamaServer({
              buildsDir: args?.buildsDir,
              backend: args?.backend,
              jobs: args?.jobs,
              force: args?.force,
              signal: controller.signal,
              onProgress: (p) => {
                built = true;
                if (p.line) log.trace(`llama.cpp build (${p.phase}): ${p.line}`);
                if (p.phase !== phase) {
                  phase = p.phase;
                  log.info(`llama.cpp build: ${PHASES[p.phase]}${p.line && p.phase !== 'compile' ? `: ${p.line}` : ''}`);
                  progress.report({ message: PHASES[p.phase] });
                }
                if (p.phase === 'compile' && p.percent !== undefined && p.percent > percent) {
                  progress.report({ message: `${PHASES.compile} ${p.percent}%`, increment: p.percent - percent });
                  percent = p.percent;
                }
              },
            }).finally(() => cancel.dispose());
          },
        );
        const what = built ? 'built' : 'already built';
        log.info(`llama.cpp ${what} for this machine (${build.record.backend}, commit ${build.record.commit}): ${build.binaryPath}`);
        void vscode.window.showInformationMessage(`Sovereign: llama.cpp is ${what} for this machine (${build.record.backend}): ${build.binaryPath}. Local GGUF models use it from their next start.`);
        return { binaryPath: build.binaryPath, dir: build.dir, record: build.record, built };
      } catch (err) {
        if (err instanceof BuildCancelledError) {
          log.info(`llama.cpp build: ${err.message}`);
          void vscode.window.showInformationMessage('Sovereign: the llama.cpp build was cancelled; nothing was kept.');
          return undefined;
        }
        log.error(`llama.cpp build: ${describeError(err)}`);
        void vscode.window.showErrorMessage(`Sovereign: building llama.cpp failed: ${describeError(err)}`, 'Show Log').then((c) => c && log.show());
        return undefined;
      }
    }),
  );
}
