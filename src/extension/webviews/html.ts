/**
 * The HTML shell of every Sovereign webview and its Content Security Policy. No `vscode` import: the
 * tests check the policy in plain Node.
 *
 * The policy: nothing by default; scripts only with this page's nonce (no 'unsafe-eval', no inline
 * handlers); styles, fonts and images only from the extension's own resources (`webview.cspSource`) plus
 * the nonce for Lit's fallback <style>; no network (connect-src stays 'none'), no frames, no workers.
 */
import { randomBytes } from 'node:crypto';

export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export interface ShellOptions {
  title: string;
  cspSource: string;
  nonce: string;
  /** webview URIs (asWebviewUri) of the view's bundle and style sheets. */
  scriptUri: string;
  styleUris: string[];
}

function escapeAttr(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function webviewHtml(o: ShellOptions): string {
  const styles = o.styleUris.map((u) => `<link rel="stylesheet" href="${escapeAttr(u)}" nonce="${o.nonce}">`).join('\n    ');
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta http-equiv="Content-Security-Policy" content="${escapeAttr(contentSecurityPolicy(o.cspSource, o.nonce))}">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    ${styles}
    <title>${escapeAttr(o.title)}</title>
  </head>
  <body>
    <main id="app" aria-busy="true"><p class="loading">Loading ${escapeAttr(o.title)}…</p></main>
    <script nonce="${o.nonce}" src="${escapeAttr(o.scriptUri)}"></script>
  </body>
</html>`;
}

/**
 * The page of a restored panel that could not be wired again (never expected: restoring must not throw
 * into VS Code, so the panel explains instead). No script at all: `default-src 'none'`.
 */
export function restoreFailedHtml(title: string, reason: string, command: string): string {
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta http-equiv="Content-Security-Policy" content="default-src 'none'; base-uri 'none'; form-action 'none'">
    <title>${escapeAttr(title)}</title>
  </head>
  <body>
    <main id="app"><div class="empty-state" role="status"><p>${escapeAttr(title)} could not be restored after the window reloaded: ${escapeAttr(reason)}</p><p>Close this tab and run "${escapeAttr(command)}".</p></div></main>
  </body>
</html>`;
}
