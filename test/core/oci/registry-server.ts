import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer, connect, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { createPrivateKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import { join } from 'node:path';

/** A real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1, its own port and storage. */
export interface TestRegistry {
  host: string;
  port: number;
  storage: string;
  /** The blob file the registry serves for a digest (to tamper with it). */
  blobFile(digest: string): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface RegistryOptions {
  /** user:password pairs, written with `htpasswd -B` (bcrypt, what distribution accepts). */
  users?: Record<string, string>;
  /** Bearer token auth: the registry trusts tokens signed by the token server's certificate. */
  token?: TokenServer;
  tls?: { cert: string; key: string; ca: string };
}

export async function startRegistry(dir: string, options: RegistryOptions = {}): Promise<TestRegistry> {
  const port = await freePort();
  const storage = join(dir, 'storage');
  await mkdir(storage, { recursive: true });
  let auth = '';
  if (options.users) {
    const file = join(dir, 'htpasswd');
    const lines = Object.entries(options.users).map(([u, p]) => execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim());
    await writeFile(file, lines.join('\n') + '\n');
    auth = `auth:\n  htpasswd:\n    realm: test-registry\n    path: ${file}\n`;
  }
  if (options.token) {
    auth = `auth:\n  token:\n    realm: ${options.token.realm}\n    service: ${options.token.service}\n    issuer: ${options.token.issuer}\n    rootcertbundle: ${options.token.certFile}\n`;
  }
  const tls = options.tls ? `  tls:\n    certificate: ${options.tls.cert}\n    key: ${options.tls.key}\n` : '';
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\n${auth}http:\n  addr: 127.0.0.1:${port}\n${tls}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    if (await answers(port, !!options.tls, options.tls?.ca)) break;
    if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    storage,
    blobFile: (digest) => {
      const hex = digest.slice('sha256:'.length);
      return join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function answers(port: number, tls: boolean, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (tls ? httpsRequest : httpRequest)({ host: '127.0.0.1', port, path: '/v2/', method: 'GET', ...(tls ? { ca: readFileSync(ca!) } : {}) }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
    req.end();
  });
}

/** A CA and a server certificate for 127.0.0.1, made with openssl. */
export function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const p = (f: string): string => join(dir, f);
  const run = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=sovereign test CA');
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  run('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('ext.cnf'));
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}

/**
 * A loopback TCP proxy the test controls: `cut()` arms it so that the next client->registry data that
 * carries the start of a request matching `when` (or any data once `afterBytes` have passed) closes both
 * sides, as a dropped connection would.
 */
export interface CuttingProxy {
  host: string;
  /** Bytes forwarded client -> registry. */
  forwarded(): number;
  cuts(): number;
  /** Cut once, at the first request whose first line matches (before it reaches the registry). */
  cutAtRequest(pattern: RegExp, skip?: number): void;
  /** Cut once, after this many more bytes of request bodies have passed (mid-body). */
  cutAfter(bytes: number): void;
  stop(): Promise<void>;
}

export async function startProxy(target: number): Promise<CuttingProxy> {
  let forwarded = 0;
  let cuts = 0;
  let rule: { kind: 'request'; pattern: RegExp; skip: number } | { kind: 'bytes'; left: number } | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const kill = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (rule?.kind === 'request' && /^[A-Z]+ \S+ HTTP\/1\.1\r\n/.test(chunk.subarray(0, 4096).toString('latin1')) && rule.pattern.test(chunk.subarray(0, 200).toString('latin1'))) {
        if (rule.skip-- <= 0) {
          rule = undefined;
          cuts++;
          return kill();
        }
      }
      if (rule?.kind === 'bytes') {
        if (chunk.length >= rule.left) {
          upstream.write(chunk.subarray(0, rule.left));
          forwarded += rule.left;
          rule = undefined;
          cuts++;
          // Let the partial body reach the registry, then drop both sides.
          return void setTimeout(kill, 50);
        }
        rule.left -= chunk.length;
      }
      forwarded += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    forwarded: () => forwarded,
    cuts: () => cuts,
    cutAtRequest: (pattern, skip = 0) => (rule = { kind: 'request', pattern, skip }),
    cutAfter: (bytes) => (rule = { kind: 'bytes', left: bytes }),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * A token server as Docker's token authentication specifies it: GET realm?service=&scope= with Basic
 * credentials answers a JWT (ES256, x5c = its certificate, which the registry trusts as rootcertbundle)
 * granting the scopes asked for. Anonymous requests get no token.
 */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certFile: string;
  /** The scopes of every token request, in order. */
  requests: { user?: string; scopes: string[] }[];
  stop(): Promise<void>;
}

export async function startTokenServer(dir: string, users: Record<string, string>): Promise<TokenServer> {
  const run = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  const keyFile = join(dir, 'token.key');
  const certFile = join(dir, 'token.pem');
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=sovereign test token issuer');
  const key = createPrivateKey(readFileSync(keyFile));
  const der = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const requests: TokenServer['requests'] = [];
  const service = 'sovereign-test-registry';
  const issuer = 'sovereign-test-issuer';
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [user, pass] = basic ? Buffer.from(basic[1], 'base64').toString('utf8').split(':') : [];
    requests.push({ user, scopes });
    if (!user || users[user] !== pass) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(':');
      const actions = rest.pop()!.split(',');
      return { type, name: rest.join(':'), actions };
    });
    const head = b64({ typ: 'JWT', alg: 'ES256', x5c: [der] });
    const body = b64({ iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access });
    const signature = sign('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${head}.${body}.${signature}`, expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
