/**
 * Workbench URLs for code-server. The `payload` query parameter is how the web workbench receives what
 * desktop VS Code gets as command-line flags: `extensionDevelopmentPath` loads the extension straight
 * from this repository (node_modules included, so its native modules load), `extensionTestsPath` runs
 * a mocha suite inside the real extension host (needs `--vscode-option enable-smoke-test-driver`).
 */
export interface WorkbenchUrlOptions {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Folder to open (absolute path on the server machine). */
  folder?: string;
  /** A `.code-workspace` file to open instead (a multi-root workspace). */
  workspace?: string;
  /** Absolute path of the extension to load in development mode. */
  extensionDevelopmentPath?: string;
  /** Absolute path of the compiled test runner module exporting `run()`. */
  extensionTestsPath?: string;
}

export function workbenchUrl(options: WorkbenchUrlOptions): string {
  const authority = new URL(options.origin).host;
  const remote = (path: string): string => `vscode-remote://${authority}${path}`;
  const payload: Array<[string, string]> = [];
  if (options.extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(options.extensionDevelopmentPath)]);
  if (options.extensionTestsPath) payload.push(['extensionTestsPath', remote(options.extensionTestsPath)]);
  if (!options.folder === !options.workspace) throw new Error('workbenchUrl: give a folder or a workspace file, not both');
  const query = [options.workspace ? `workspace=${encodeURIComponent(options.workspace)}` : `folder=${encodeURIComponent(options.folder ?? '')}`];
  if (payload.length) query.push(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
  return `${options.origin}/?${query.join('&')}`;
}
