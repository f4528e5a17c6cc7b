import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RefusedError } from '../util/errors';

export interface Credentials {
  username: string;
  password: string;
  /** Where they came from, for messages (never the secret). */
  source: string;
}

/** One `WWW-Authenticate` challenge: `Basic realm=...` or `Bearer realm=...,service=...,scope=...`. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header (RFC 7235 auth-params, quoted strings with escapes). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z][A-Za-z0-9._-]*)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2])) !== null) {
    if (p[0] === '') break;
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

/** `docker-credential-<helper>` names: nothing that could be a path or an option. */
const HELPER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

/** The key docker would use for a host: scheme and path stripped (`https://host:5000/v1/` -> `host:5000`). */
function normalizeKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

/**
 * Credentials for a registry host as container tools find them: `credHelpers[host]`, then `auths[host]`
 * (`auth` = base64 user:password, or username/password), then the default `credsStore`. Returns undefined
 * when none applies (the client then goes anonymous). A helper is run as `docker-credential-NAME get` with
 * the host on stdin, as docker does.
 */
export async function dockerCredentials(host: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const file = dockerConfigPath(env);
  let config: DockerConfig;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as DockerConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RefusedError(`cannot read the docker config ${file}: ${(err as Error).message}`, 'fix or remove the file, or pass --username and --password-stdin');
  }
  const want = host.toLowerCase();
  const find = <T>(map: Record<string, T> | undefined): T | undefined => {
    for (const [k, v] of Object.entries(map ?? {})) if (normalizeKey(k) === want) return v;
    return undefined;
  };
  const helper = find(config.credHelpers);
  if (helper) return helperCredentials(helper, host, env);
  const entry = find(config.auths);
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: file };
  }
  if (entry?.username && entry.password) return { username: entry.username, password: entry.password, source: file };
  if (config.credsStore) return helperCredentials(config.credsStore, host, env, true);
  return undefined;
}

function helperCredentials(helper: string, host: string, env: NodeJS.ProcessEnv, storeFallback = false): Promise<Credentials | undefined> {
  if (!HELPER.test(helper)) throw new RefusedError(`docker config names an invalid credential helper "${helper}"`, 'a helper is a name, e.g. "pass" for docker-credential-pass');
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, ['get'], { env, timeout: 15_000, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        // The store has nothing for this host: anonymous, as docker does.
        if (/credentials not found/i.test(`${stdout}${stderr}`)) return resolve(undefined);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && storeFallback) return resolve(undefined);
        return reject(new RefusedError(`credential helper ${program} failed for ${host}: ${String(stderr || (err as Error).message).trim().slice(0, 300)}`, `check that ${program} is installed and unlocked`));
      }
      try {
        const out = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!out.Secret) return resolve(undefined);
        resolve({ username: out.Username ?? '', password: out.Secret, source: program });
      } catch {
        reject(new RefusedError(`credential helper ${program} answered something that is not JSON`, `run \`echo ${host} | ${program} get\` to see what it answers`));
      }
    });
    child.stdin?.end(host);
  });
}

export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
