import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compare as semverCompare, valid as validSemver } from 'semver';
import { UsageError } from '../util/errors';
import schema from '../../../schemas/manifest.schema.json';
import { parseAliases, type AliasMap } from './aliases';
import { parseManifest, parseModelRef, type ModelManifest } from './manifest';
import { ALIASES_FILE_NAME, aliasesRelPath, MODELS_DIR } from './workspace';
import type { YamlProblem } from './yaml-file';

/** One registered model version as the read side sees it. */
export interface RegistryEntry {
  manifest: ModelManifest;
  /** Repository-relative manifest path. */
  file: string;
  /** Aliases currently pointing at this version. */
  aliases: string[];
}

/** The registry read from the working tree: every manifest and alias file, plus what is wrong with them. */
export class Registry {
  readonly byRef = new Map<string, RegistryEntry>();

  constructor(
    readonly root: string,
    /** Sorted by name, then semantic version ascending. */
    readonly entries: RegistryEntry[],
    /** name -> alias -> version */
    readonly aliases: Map<string, AliasMap>,
    readonly problems: YamlProblem[],
  ) {
    for (const e of entries) this.byRef.set(`${e.manifest.name}@${e.manifest.version}`, e);
  }

  names(): string[] {
    return [...new Set(this.entries.map((e) => e.manifest.name))];
  }

  versions(name: string): RegistryEntry[] {
    return this.entries.filter((e) => e.manifest.name === name);
  }

  get(name: string, version: string): RegistryEntry | undefined {
    return this.byRef.get(`${name}@${version}`);
  }

  /**
   * Resolves NAME (latest version), NAME@VERSION or NAME@ALIAS. Throws a UsageError that lists what exists
   * when nothing matches.
   */
  resolve(ref: string): RegistryEntry {
    const { name, version } = parseModelRef(ref);
    const versions = this.versions(name);
    if (!versions.length) {
      const known = this.names();
      throw new UsageError(`no model named "${name}" in the registry`, known.length ? `registered models: ${known.slice(0, 20).join(', ')}` : 'register one with `sovereign registry add FILE --name NAME --version 1.0.0`');
    }
    if (!version) return versions[versions.length - 1];
    const exact = this.get(name, version) ?? this.get(name, this.aliases.get(name)?.[version] ?? '');
    if (!exact) {
      throw new UsageError(`${name} has no version or alias "${version}"`, `versions: ${versions.map((v) => v.manifest.version).join(', ')}`);
    }
    return exact;
  }
}

const CONCURRENCY = 64;
const CACHE_VERSION = `1:${createHash('sha1').update(JSON.stringify(schema)).digest('hex').slice(0, 12)}`;

interface CacheEntry {
  h: string;
  m?: ModelManifest;
  p?: YamlProblem[];
}
interface CacheFile {
  v: string;
  files: Record<string, CacheEntry>;
}

/**
 * Reads every manifest of the workspace. Parsing YAML costs ~150 us a file, so parsed manifests are cached
 * by content hash in the git folder (never tracked, per clone): an unchanged manifest is not parsed again.
 */
export async function loadRegistry(root: string): Promise<Registry> {
  const modelsDir = join(root, MODELS_DIR);
  let names: string[];
  try {
    names = (await readdir(modelsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return new Registry(root, [], new Map(), []);
  }
  const files: { rel: string; name: string; version?: string }[] = [];
  await pool(names, CONCURRENCY, async (name) => {
    for (const f of await readdir(join(modelsDir, name))) {
      if (f === ALIASES_FILE_NAME) files.push({ rel: aliasesRelPath(name), name });
      else if (f.endsWith('.yaml')) files.push({ rel: `${MODELS_DIR}/${name}/${f}`, name, version: f.slice(0, -'.yaml'.length) });
    }
  });
  const cachePath = await cacheFile(root);
  const cache = cachePath ? await readCache(cachePath) : { v: CACHE_VERSION, files: {} };
  const fresh: Record<string, CacheEntry> = {};
  let changed = false;
  const entries: RegistryEntry[] = [];
  const aliases = new Map<string, AliasMap>();
  const problems: YamlProblem[] = [];
  await pool(files, CONCURRENCY, async (f) => {
    const text = await readFile(join(root, f.rel), 'utf8');
    if (!f.version) {
      const parsed = parseAliases(text, f.rel);
      aliases.set(f.name, parsed.aliases);
      problems.push(...parsed.problems);
      return;
    }
    const h = createHash('sha1').update(text).digest('hex');
    let entry = cache.files[f.rel];
    if (!entry || entry.h !== h) {
      const parsed = parseManifest(text, f.rel, { name: f.name, version: f.version });
      entry = parsed.manifest ? { h, m: parsed.manifest } : { h, p: parsed.problems };
      changed = true;
    }
    fresh[f.rel] = entry;
    if (entry.m) entries.push({ manifest: entry.m, file: f.rel, aliases: [] });
    else problems.push(...(entry.p ?? []));
  });
  if (Object.keys(fresh).length !== Object.keys(cache.files).length) changed = true;
  if (cachePath && changed) await writeCache(cachePath, { v: CACHE_VERSION, files: fresh });

  entries.sort(compareEntries);
  for (const [name, map] of aliases) {
    for (const [alias, version] of Object.entries(map)) {
      const e = entries.find((x) => x.manifest.name === name && x.manifest.version === version);
      if (e) e.aliases.push(alias);
    }
  }
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return new Registry(root, entries, aliases, problems);
}

function compareEntries(a: RegistryEntry, b: RegistryEntry): number {
  if (a.manifest.name !== b.manifest.name) return a.manifest.name < b.manifest.name ? -1 : 1;
  const va = validSemver(a.manifest.version);
  const vb = validSemver(b.manifest.version);
  return va && vb ? semverCompare(va, vb) : a.manifest.version < b.manifest.version ? -1 : 1;
}

async function cacheFile(root: string): Promise<string | undefined> {
  try {
    if ((await stat(join(root, '.git'))).isDirectory()) return join(root, '.git', 'sovereign', 'registry-index.json');
  } catch {
    // no .git folder (a worktree or a plain folder): no cache, still correct.
  }
  return undefined;
}

async function readCache(path: string): Promise<CacheFile> {
  try {
    const c = JSON.parse(await readFile(path, 'utf8')) as CacheFile;
    if (c.v === CACHE_VERSION && c.files && typeof c.files === 'object') return c;
  } catch {
    // missing or damaged cache: rebuild it.
  }
  return { v: CACHE_VERSION, files: {} };
}

async function writeCache(path: string, cache: CacheFile): Promise<void> {
  try {
    await mkdir(join(path, '..'), { recursive: true });
    const temp = `${path}.${randomBytes(4).toString('hex')}`;
    await writeFile(temp, JSON.stringify(cache));
    await rename(temp, path);
  } catch {
    // the cache is an optimisation only.
  }
}

/** Runs `fn` over items with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
