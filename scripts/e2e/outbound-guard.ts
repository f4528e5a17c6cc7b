/**
 * A recording "proxy" on 127.0.0.1 that refuses everything. code-server and its extension host get it
 * as HTTP_PROXY/HTTPS_PROXY (and `http.proxy`), so any attempt to reach a host outside the machine
 * (gallery, telemetry, update check, schema download...) lands here, is written down, and fails at once
 * instead of waiting on a time-out. The e2e run asserts that the list stays empty.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';

export interface OutboundGuard {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Request lines seen, e.g. `CONNECT marketplace.visualstudio.com:443 HTTP/1.1`. */
  attempts: string[];
  close(): Promise<void>;
}

export async function startOutboundGuard(): Promise<OutboundGuard> {
  const attempts: string[] = [];
  const server: Server = createServer((socket) => {
    socket.once('data', (chunk) => {
      const firstLine = chunk.toString('latin1').split('\r\n')[0] ?? '';
      attempts.push(firstLine.slice(0, 300));
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attempts,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

/**
 * Lines of code-server / extension host logs that show an attempt to reach another machine. We look for
 * resolver and connect errors and for the hosts VS Code is known to call home to.
 */
const OUTBOUND_PATTERNS: RegExp[] = [
  /getaddrinfo|ENOTFOUND|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH/,
  /marketplace\.visualstudio\.com|open-vsx\.org|update\.code\.visualstudio\.com|vscode-cdn\.net|vscode-unpkg\.net|gallerycdn|mobile\.events\.data\.microsoft\.com|dc\.services\.visualstudio\.com|default\.exp-tas\.com|az764295\.vo\.msecnd\.net/i,
];

export function findOutboundLogLines(text: string): string[] {
  return text.split('\n').filter((line) => OUTBOUND_PATTERNS.some((p) => p.test(line)));
}

/** True for URLs a browser may load in the e2e run: the code-server origin and local schemes. */
export function isLocalUrl(url: string): boolean {
  if (/^(data|blob|about|vscode-[a-z-]+|chrome|chrome-extension|devtools):/i.test(url)) return true;
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host.endsWith('.localhost');
  } catch {
    return false;
  }
}
