/**
 * Debian's Chromium driven by playwright-core (no browser download: playwright-core ships none), with
 * every background call-home off and DNS mapped to nowhere except the loopback, plus a recorder of
 * any request to another host.
 */
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { isLocalUrl } from './outbound-guard';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-quic',
  '--metrics-recording-only',
  // Names other than the loopback do not resolve: an attempt fails at once and is recorded below.
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost',
];

export interface RecordedBrowser {
  browser: Browser;
  context: BrowserContext;
  /** URLs of requests to hosts other than the loopback. */
  outbound: string[];
  close(): Promise<void>;
}

export async function launchBrowser(executablePath: string): Promise<RecordedBrowser> {
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, serviceWorkers: 'allow' });
  const outbound: string[] = [];
  context.on('request', (request) => {
    if (!isLocalUrl(request.url())) outbound.push(request.url());
  });
  // Webview resources use virtual https://*.vscode-resource.vscode-cdn.net URLs that the webview's service
  // worker answers from the extension host over the existing 127.0.0.1 connection: no network is involved.
  // Only a request the service worker answered is forgiven; one that reached the network stays recorded.
  context.on('requestfinished', (request) => {
    void request.response().then((response) => {
      if (!response?.fromServiceWorker()) return;
      const i = outbound.indexOf(request.url());
      if (i >= 0) outbound.splice(i, 1);
    });
  });
  // A webview torn down before its service worker answered (a panel closed or restored over in a test) aborts its
  // resource requests: net::ERR_ABORTED, no answer from anywhere. A request that went to the network instead fails
  // to resolve (every name but the loopback maps to NOTFOUND above) and stays recorded.
  context.on('requestfailed', (request) => {
    if (!/\.vscode-resource\.vscode-cdn\.net$/.test(new URL(request.url()).hostname) || request.failure()?.errorText !== 'net::ERR_ABORTED') return;
    const i = outbound.indexOf(request.url());
    if (i >= 0) outbound.splice(i, 1);
  });
  return {
    browser,
    context,
    outbound,
    close: async () => {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
    },
  };
}
