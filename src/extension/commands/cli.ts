import * as vscode from 'vscode';
import { homedir } from 'node:os';
import { cliLauncher, defaultLauncherPath, installCliLauncher, launcherState, onPath } from '../../core/util/cli-launcher';
import { describeError } from '../../core/util/errors';
import type { ExtensionServices } from '../context';

/** What the command is given when run from code (tests, other extensions): no prompts. */
export interface InstallCliArgs {
  path?: string;
  overwrite?: boolean;
}

/**
 * "Sovereign: Install CLI in PATH": writes a `sovereign` launcher that runs this extension's bundled CLI
 * (dist/cli.js) with the extension host's runtime (process.execPath). Asks for the path (default
 * ~/.local/bin/sovereign, or %LOCALAPPDATA%\Programs\sovereign\sovereign.cmd) and before replacing a file.
 * Returns the launcher's path, or undefined when the person cancelled.
 */
export function registerCliCommands(services: ExtensionServices): void {
  services.context.subscriptions.push(
    vscode.commands.registerCommand('sovereign.installCli', async (args?: InstallCliArgs): Promise<string | undefined> => {
      const home = homedir();
      let path = args?.path;
      if (!path) {
        path = await vscode.window.showInputBox({
          title: 'Install the sovereign CLI',
          prompt: 'Where to write the `sovereign` launcher (a folder on your PATH)',
          value: defaultLauncherPath({ env: process.env, home }),
          ignoreFocusOut: true,
        });
        if (!path) return undefined;
      }
      const launcher = cliLauncher({ runtime: process.execPath, cli: services.cliPath, env: process.env, home }, path);
      try {
        let overwrite = args?.overwrite ?? false;
        const state = await launcherState(launcher);
        if ((state === 'ours' || state === 'foreign') && args?.overwrite === undefined) {
          const replace = 'Replace';
          const what = state === 'ours' ? 'an older sovereign launcher' : 'a file that is not a sovereign launcher';
          overwrite = (await vscode.window.showWarningMessage(`${path} exists already (${what}). Replace it?`, { modal: true }, replace)) === replace;
          if (!overwrite) return undefined;
        }
        await installCliLauncher(launcher, overwrite);
      } catch (err) {
        void vscode.window.showErrorMessage(`Sovereign: could not install the CLI: ${describeError(err)}`);
        return undefined;
      }
      services.log.info(`sovereign CLI launcher written to ${path} (runs ${services.cliPath} with ${process.execPath})`);
      const hint = onPath(path) ? 'Open a new terminal and run `sovereign --help`.' : `Its folder is not on your PATH: add it (then open a new terminal).`;
      void vscode.window.showInformationMessage(`Sovereign: the CLI is installed at ${path}. ${hint}`);
      return path;
    }),
  );
}
