import picomatch from 'picomatch';
import { basename } from 'node:path';

/**
 * Files whose content must never be sent to a model or written to a log: environment files, keys,
 * certificates with private parts, credential stores. Globs match the file name or the path (with `/`).
 */
export const DEFAULT_SECRET_FILE_PATTERNS: readonly string[] = [
  '.env',
  '.env.*',
  '*.env',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  '*.jks',
  '*.keystore',
  '*.kdbx',
  'id_rsa*',
  'id_dsa*',
  'id_ecdsa*',
  'id_ed25519*',
  '.npmrc',
  '.pypirc',
  '.netrc',
  '.git-credentials',
  '.htpasswd',
  'credentials',
  'credentials.json',
  '**/.aws/credentials',
  '**/.docker/config.json',
  '**/.ssh/*',
  '*.tfstate',
  'secrets.*',
];

const cache = new Map<string, (path: string) => boolean>();

function matcherFor(patterns: readonly string[]): (path: string) => boolean {
  const cacheKey = patterns.join('\u0000');
  let m = cache.get(cacheKey);
  if (!m) {
    // dot: true so `.env.local` matches `.env.*`; nocase for Windows-made names (ID_RSA, KEY.PEM).
    m = picomatch([...patterns], { dot: true, nocase: true });
    cache.set(cacheKey, m);
  }
  return m;
}

/**
 * True when the path is a secret file by the patterns (default: DEFAULT_SECRET_FILE_PATTERNS). A pattern
 * without a slash matches the base name anywhere (like .gitignore); one with a slash matches the path.
 */
export function isSecretFile(path: string, patterns: readonly string[] = DEFAULT_SECRET_FILE_PATTERNS): boolean {
  const normalized = path.replace(/\\/g, '/');
  const name = basename(normalized);
  const byName = patterns.filter((p) => !p.includes('/'));
  const byPath = patterns.filter((p) => p.includes('/'));
  if (byName.length > 0 && matcherFor(byName)(name)) return true;
  return byPath.length > 0 && (matcherFor(byPath)(normalized) || matcherFor(byPath)(normalized.replace(/^\/+/, '')));
}
