import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SemVer } from 'semver';
import { IoError, UsageError } from '../util/errors';
import { parseAliases, type AliasMap } from './aliases';
import { cacheDirFor, contentHash, jsonSafe, RACY_MS, readCache, readWithStat, statKey, writeCache, type NewRecord, type StatKey } from './index-cache';
import { parseManifest, parseModelRef, type ModelManifest } from './manifest';
import { fastManifest } from './manifest-fast';
import { ALIASES_FILE_NAME, aliasesRelPath, MODELS_DIR } from '../workspace/workspace';
import { formatProblem, type YamlProblem } from '../workspace/yaml-file';

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
  private readonly byName = new Map<string, RegistryEntry[]>();

  constructor(
    readonly root: string,
    /** Sorted by name, then semantic version ascending. */
    readonly entries: RegistryEntry[],
    /** name -> alias -> version */
    readonly aliases: Map<string, AliasMap>,
    readonly problems: YamlProblem[],
  ) {
    for (const e of entries) {
      const { name, version } = identityOf(e);
      this.byRef.set(`${name}@${version}`, e);
      const list = this.byName.get(name) ?? [];
      list.push(e);
      this.byName.set(name, list);
    }
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Versions of a model, oldest first. */
  versions(name: string): RegistryEntry[] {
    return [...(this.byName.get(name) ?? [])];
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
      throw new UsageError(`${name} has no version or alias "${version}"`, `versions: ${versions.map((v) => identityOf(v).version).join(', ')}`);
    }
    return exact;
  }
}

/**
 * Name and version of an entry read from the cache, known from its path (a valid manifest's name is its
 * folder and its version its file name), so that indexing and sorting never parse a manifest.
 */
const IDENTITY = Symbol('identity');
type Identity = { name: string; version: string };

function identityOf(e: RegistryEntry): Identity {
  return (e as RegistryEntry & { [IDENTITY]?: Identity })[IDENTITY] ?? e.manifest;
}

/**
 * An entry whose manifest is parsed from the cache on first use (then kept). To its users it is a plain
 * { manifest, file, aliases } object: `manifest` is an own enumerable property, so spreading, JSON,
 * structuredClone and deepEqual all see it; assigning it replaces it.
 */
function lazyEntry(file: string, identity: Identity, load: () => ModelManifest): RegistryEntry {
  const entry = {} as RegistryEntry;
  // Kept in the closure: redefining the property on first use costs more than the getter call.
  let manifest: ModelManifest | undefined;
  Object.defineProperty(entry, 'manifest', {
    get: () => (manifest ??= load()),
    set: (value: ModelManifest) => (manifest = value),
    enumerable: true,
    configurable: true,
  });
  entry.file = file;
  entry.aliases = [];
  Object.defineProperty(entry, IDENTITY, { value: identity });
  return entry;
}

/** Files handled synchronously per slice: small files read ~4x faster sync than through the thread pool. */
const SLICE = 500;

interface ManifestFile {
  rel: string;
  name: string;
  /** Unset for the model's aliases file. */
  version?: string;
}

/**
 * Reads every manifest of the workspace. What reading a manifest gave is cached in the git folder (per
 * clone, never tracked; index-cache.ts): a file whose inode, size and ns timestamps are unchanged is not
 * even read, and one whose content hash is unchanged is not parsed again; cached manifests are parsed from
 * the cache when first used. A file that must be parsed takes the fast path (js-yaml, no positions, see
 * manifest-fast.ts), and only when that is not certain, or finds it invalid, the positional parser that
 * reports file:line:col. Files are handled in synchronous slices with a yield between them: faster than the
 * thread pool for thousands of small files, and the event loop is never blocked for long.
 */
export async function loadRegistry(root: string): Promise<Registry> {
  const modelsDir = join(root, MODELS_DIR);
  let names: string[];
  try {
    names = readdirSync(modelsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return new Registry(root, [], new Map(), []);
  }
  // Stats older than RACY_MS before this moment are trusted by the next run (see index-cache.ts).
  const startedAt = Date.now();
  const files: ManifestFile[] = [];
  for (const name of names) {
    for (const f of readdirSync(join(modelsDir, name))) {
      if (f === ALIASES_FILE_NAME) files.push({ rel: aliasesRelPath(name), name });
      else if (f.endsWith('.yaml')) files.push({ rel: `${MODELS_DIR}/${name}/${f}`, name, version: f.slice(0, -'.yaml'.length) });
    }
  }
  const cacheDir = await cacheDirFor(root);
  const cache = readCache(cacheDir);
  const trustedBefore = cache.startedAt - RACY_MS;
  const next: Record<string, NewRecord> = {};
  let changed = false;
  const entries: RegistryEntry[] = [];
  const aliases = new Map<string, AliasMap>();
  const problems: YamlProblem[] = [];
  for (let i = 0; i < files.length; i += SLICE) {
    if (i) await new Promise((done) => setImmediate(done));
    for (let j = i; j < Math.min(i + SLICE, files.length); j++) {
      const f = files[j];
      const abs = join(root, f.rel);
      const cached = cache.records[f.rel];
      // A cached file is stat'ed, and read only when its stat changed; an unknown file is read at once.
      let text: string | undefined;
      let st: StatKey | undefined;
      if (cached) st = statKey(abs);
      else ({ text, stat: st } = readWithStat(abs));
      let h = cached?.h;
      if (!(cached && st && cached.s === st.key && st.mtimeMs < trustedBefore)) {
        changed = true;
        text ??= readFileSync(abs, 'utf8');
        h = contentHash(text);
      }
      const same = cached && cached.h === h ? cached : undefined;
      if (!f.version) {
        // An aliases file.
        let found: { aliases: AliasMap; problems: YamlProblem[] };
        if (same?.a) {
          found = { aliases: same.a, problems: same.p ?? [] };
        } else {
          if (text === undefined) {
            text = readFileSync(abs, 'utf8');
            h = contentHash(text);
          }
          found = parseAliases(text, f.rel);
          changed = true;
        }
        next[f.rel] = { h: h ?? contentHash(text ?? ''), s: st?.key, a: found.aliases, p: found.problems };
        aliases.set(f.name, found.aliases);
        problems.push(...found.problems);
        continue;
      }
      const identity = { name: f.name, version: f.version };
      if (same && !same.r && cache.hasManifest(same)) {
        // Same content as cached, a valid manifest: parsed from the cache when first used.
        next[f.rel] = { h: same.h, s: st?.key, cached: same };
        entries.push(lazyEntry(f.rel, identity, () => cache.manifest(same) ?? reparse(abs, f.rel, identity)));
      } else if (same?.p) {
        next[f.rel] = { h: same.h, s: st?.key, p: same.p };
        problems.push(...same.p);
      } else {
        changed = true;
        // New content, or a cache record without a usable manifest: parse the file.
        if (text === undefined) {
          text = readFileSync(abs, 'utf8');
          h = contentHash(text);
        }
        const read = readManifest(text, f.rel, identity);
        const record = { h: h ?? contentHash(text), s: st?.key };
        if (!read.manifest) {
          next[f.rel] = { ...record, p: read.p };
          problems.push(...read.p);
        } else if (cacheDir && jsonSafe(read.manifest)) {
          // Kept as the JSON the cache needs anyway, parsed again when first used: holding 10,000 manifests
          // as objects while indexing made a third of the cold time garbage-collector copying.
          const json = JSON.stringify(read.manifest);
          next[f.rel] = { ...record, json };
          entries.push(lazyEntry(f.rel, identity, () => JSON.parse(json) as ModelManifest));
        } else {
          next[f.rel] = { ...record, r: 1 };
          entries.push({ manifest: read.manifest, file: f.rel, aliases: [] });
        }
      }
    }
  }
  if (Object.keys(next).length !== Object.keys(cache.records).length) changed = true;
  if (cacheDir && changed) await writeCache(cacheDir, startedAt, next, cache);

  sortEntries(entries);
  const byRef = new Map(entries.map((e) => [`${identityOf(e).name}@${identityOf(e).version}`, e]));
  for (const [name, map] of aliases) {
    for (const [alias, version] of Object.entries(map)) byRef.get(`${name}@${version}`)?.aliases.push(alias);
  }
  problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  return new Registry(root, entries, aliases, problems);
}

/** A manifest: the fast path when it is certain, else the positional parser's verdict with positions. */
function readManifest(text: string, file: string, expected: Identity): { manifest: ModelManifest; p?: undefined } | { manifest?: undefined; p: YamlProblem[] } {
  const fast = fastManifest(text, expected);
  if (fast) return { manifest: fast };
  const parsed = parseManifest(text, file, expected);
  return parsed.manifest ? { manifest: parsed.manifest } : { p: parsed.problems };
}

/**
 * The manifest of a cached entry whose cached JSON turned out damaged: read it again. The file had the
 * same stat and content hash as a valid manifest when the registry was loaded.
 */
function reparse(abs: string, file: string, expected: Identity): ModelManifest {
  const read = readManifest(readFileSync(abs, 'utf8'), file, expected);
  if (read.manifest) return read.manifest;
  throw new IoError(`${file} changed while the registry was in use: ${read.p[0] ? formatProblem(read.p[0]) : 'it is no longer a valid manifest'}`, 'run the command again');
}

/** A plain MAJOR.MINOR.PATCH (no pre-release, no build, safe integers): compared without the semver parser. */
const PLAIN_VERSION = /^(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})\.(0|[1-9]\d{0,14})$/;

interface SortKey {
  entry: RegistryEntry;
  name: string;
  version: string;
  plain?: number[];
  semver?: SemVer | null;
}

function semverOf(k: SortKey): SemVer | null {
  if (k.semver === undefined) {
    try {
      k.semver = new SemVer(k.version);
    } catch {
      k.semver = null;
    }
  }
  return k.semver;
}

/**
 * By name, then semantic version. Each version is parsed once (sorting 10,000 entries re-parsing is slow),
 * and plain MAJOR.MINOR.PATCH versions, the usual case, are compared as three numbers (as semver does).
 */
function sortEntries(entries: RegistryEntry[]): void {
  const keys: SortKey[] = entries.map((entry) => {
    const { name, version } = identityOf(entry);
    const m = PLAIN_VERSION.exec(version);
    return { entry, name, version, plain: m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined };
  });
  keys.sort((a, b) => {
    if (a.name !== b.name) return a.name < b.name ? -1 : 1;
    if (a.plain && b.plain) return a.plain[0] - b.plain[0] || a.plain[1] - b.plain[1] || a.plain[2] - b.plain[2];
    const va = semverOf(a);
    const vb = semverOf(b);
    return va && vb ? va.compare(vb) : a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
  });
  keys.forEach((k, i) => (entries[i] = k.entry));
}
