import { createHash, hash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync, type BigIntStats } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import schema from '../../../schemas/manifest.schema.json';
import type { AliasMap } from './aliases';
import type { ModelManifest } from './manifest';
import type { YamlProblem } from '../workspace/yaml-file';

/*
 * The per-clone cache of the registry index, .git/sovereign/registry-index (never tracked). It maps each
 * manifest and aliases file to what reading it gave (the manifest, the aliases, or the problems), keyed by
 * the file's stat and by a hash of its content. Its version changes with the schema, so a schema change
 * re-validates everything.
 *
 * Layout: one line of JSON (the header: version, time, per-file records), a newline, then the manifests as
 * concatenated JSON texts; each record holds the range of its manifest in the decoded body. A load reads
 * and parses the header only (~1.5 MB for 10,000 manifests; the body is ~18 MB); the body is read when a
 * manifest is first used (`resolve` uses one, `policy check` all), from the same file (checked by inode,
 * size and mtime), and each manifest is parsed from its range then. Rewriting the cache copies the JSON
 * of unchanged manifests as text.
 */

const CACHE_FORMAT = 5;
export const CACHE_VERSION = `${CACHE_FORMAT}:${createHash('sha1').update(JSON.stringify(schema)).digest('hex').slice(0, 12)}`;
const CACHE_NAME = 'registry-index';
/** The previous single-JSON cache (format 2), removed when the new one is written. */
const OLD_CACHE_NAME = 'registry-index.json';
/** A file changed less than this before the scan that cached it started may change again unseen (racy-git). */
export const RACY_MS = 2000;
/** First read of the cache file; the header of 10,000 manifests is ~1.5 MB. */
const HEADER_CHUNK = 1 << 21;

/** What is cached for one manifest or aliases file. */
export interface CacheRecord {
  /** Content hash (sha1 hex) of the text. */
  h: string;
  /** inode:size:mtimeNs:ctimeNs when read: an unchanged stat means unchanged content. */
  s?: string;
  /** Offset and length (UTF-16 units) of the manifest's JSON in the decoded body. */
  o?: number;
  n?: number;
  /** Problems, for a file that is not valid. */
  p?: YamlProblem[];
  /** A valid manifest that JSON cannot hold (Infinity, NaN, -0): parsed from its file every time. */
  r?: 1;
  /** An aliases file: alias -> version. */
  a?: AliasMap;
}

interface CacheHeader {
  v: string;
  /** When the scan that wrote the cache started (ms since epoch); stats newer than t - RACY_MS are not trusted. */
  t: number;
  /** Body length in bytes: a shorter body means a damaged file. */
  b: number;
  /** Body length in UTF-16 units: equal to `b` when the body is pure ASCII. */
  c: number;
  files: Record<string, CacheRecord>;
}

/** Where the body is: the cache file as it was when its header was read, and the body's byte range. */
interface BodySource {
  path: string;
  /** inode:size:mtimeNs of the file whose header was read: a replaced file is not read as this body. */
  identity: string;
  offset: number;
  length: number;
  ascii: boolean;
}

/** The cache as read: records, and the body their manifests live in (read on first use). */
export class IndexCache {
  private bodyText?: string | null;

  private constructor(
    readonly startedAt: number,
    readonly records: Record<string, CacheRecord>,
    private readonly body?: BodySource,
  ) {}

  static empty(): IndexCache {
    return new IndexCache(0, {});
  }

  /** Reads the header of a cache file (synchronously: a few MB, one or two reads). */
  static read(path: string): IndexCache {
    const fd = openSync(path, 'r');
    try {
      const st = fstatSync(fd, { bigint: true });
      const size = Number(st.size);
      let bytes = Buffer.allocUnsafe(Math.min(size, HEADER_CHUNK));
      let length = 0;
      let nl = -1;
      // JSON.stringify never writes a raw newline, so the first one ends the header.
      while (nl < 0 && length < size) {
        if (length === bytes.length) bytes = Buffer.concat([bytes, Buffer.allocUnsafe(Math.min(size - length, bytes.length))]);
        const n = readSync(fd, bytes, length, bytes.length - length, length);
        if (n === 0) break;
        nl = bytes.indexOf(10, length);
        length += n;
      }
      if (nl < 0) return IndexCache.empty();
      const header = JSON.parse(bytes.toString('utf8', 0, nl)) as CacheHeader;
      if (header.v !== CACHE_VERSION || typeof header.t !== 'number' || !header.files || typeof header.files !== 'object' || header.b !== size - nl - 1) return IndexCache.empty();
      return new IndexCache(header.t, header.files, { path, identity: identityOf(st), offset: nl + 1, length: header.b, ascii: header.c === header.b });
    } finally {
      closeSync(fd);
    }
  }

  /** The manifest of a record (parsed now), or undefined when the cache is damaged or replaced there. */
  manifest(record: CacheRecord): ModelManifest | undefined {
    const json = this.json(record);
    if (json === undefined) return undefined;
    try {
      return JSON.parse(json) as ModelManifest;
    } catch {
      return undefined;
    }
  }

  /** Whether a record holds a manifest that is within the body (a cheap check; reading it is the real one). */
  hasManifest(record: CacheRecord): boolean {
    const { o, n } = record;
    return typeof o === 'number' && typeof n === 'number' && o >= 0 && n > 0 && o + n <= (this.body?.length ?? 0);
  }

  /** The JSON text of a record's manifest, to copy into the next cache without re-serialising. */
  json(record: CacheRecord): string | undefined {
    const { o, n } = record;
    if (typeof o !== 'number' || typeof n !== 'number') return undefined;
    if (this.bodyText === undefined) this.bodyText = this.readBody();
    if (this.bodyText === null || o < 0 || n <= 0 || o + n > this.bodyText.length) return undefined;
    return this.bodyText.slice(o, o + n);
  }

  /** The body, decoded; null when the file is gone or is no longer the one whose header was read. */
  private readBody(): string | null {
    if (!this.body) return null;
    const { path, identity, offset, length } = this.body;
    try {
      const fd = openSync(path, 'r');
      try {
        if (identityOf(fstatSync(fd, { bigint: true })) !== identity) return null;
        const bytes = Buffer.allocUnsafe(length);
        let done = 0;
        while (done < length) {
          const n = readSync(fd, bytes, done, length - done, offset + done);
          if (n === 0) return null;
          done += n;
        }
        // Decoded once. A body of pure ASCII (the header says so) is decoded as latin1: a plain copy.
        return bytes.toString(this.body.ascii ? 'latin1' : 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch {
      return null;
    }
  }
}

function identityOf(st: BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

/** One file of the next cache: its record, and its manifest's JSON, made now or kept from this cache. */
export interface NewRecord {
  h: string;
  s?: string;
  p?: YamlProblem[];
  r?: 1;
  a?: AliasMap;
  json?: string;
  cached?: CacheRecord;
}

/** Whether JSON gives `value` back unchanged: no Infinity, NaN or -0 (YAML has .inf, .nan, -0; JSON not). */
export function jsonSafe(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (!value || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(jsonSafe);
  for (const key in value) if (!jsonSafe((value as Record<string, unknown>)[key])) return false;
  return true;
}

export interface StatKey {
  key: string;
  mtimeMs: number;
}

function keyOf(st: BigIntStats): StatKey {
  return { key: `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`, mtimeMs: Number(st.mtimeMs) };
}

/** What the cache keys a file by; undefined when it is gone. */
export function statKey(path: string): StatKey | undefined {
  const st = statSync(path, { bigint: true, throwIfNoEntry: false });
  return st ? keyOf(st) : undefined;
}

/**
 * A file's text and the stat of what was read (fstat on the open file: one path lookup instead of two,
 * ~20% cheaper than stat + readFile for small files).
 */
export function readWithStat(path: string): { text: string; stat: StatKey } {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const buffer = Buffer.allocUnsafe(Number(st.size));
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, length);
      if (n === 0) break;
      length += n;
    }
    return { text: buffer.toString('utf8', 0, length), stat: keyOf(st) };
  } finally {
    closeSync(fd);
  }
}

/** sha1 of a text: the one-shot crypto.hash is ~2x cheaper than createHash for small files. */
export function contentHash(text: string): string {
  return hash('sha1', text, 'hex');
}

/**
 * The cache folder: inside the clone's git folder, or for a worktree or submodule (where `.git` is a file
 * saying `gitdir: PATH`) inside that git folder, so each checkout has its own. Elsewhere, no cache.
 */
export async function cacheDirFor(root: string): Promise<string | undefined> {
  const dotGit = join(root, '.git');
  try {
    if ((await stat(dotGit)).isDirectory()) return join(dotGit, 'sovereign');
    const gitdir = /^gitdir: (.+)$/m.exec(await readFile(dotGit, 'utf8'))?.[1]?.trim();
    if (gitdir && (await stat(resolve(root, gitdir))).isDirectory()) return join(resolve(root, gitdir), 'sovereign');
  } catch {
    // no git folder: no cache, still correct.
  }
  return undefined;
}

/** Read synchronously: a read or two of a few MB, instead of dozens of thread-pool round trips. */
export function readCache(dir: string | undefined): IndexCache {
  if (dir) {
    try {
      return IndexCache.read(join(dir, CACHE_NAME));
    } catch {
      // missing or damaged cache: rebuild it.
    }
  }
  return IndexCache.empty();
}

/** Atomic (write then rename): a concurrent reader sees the old cache or the new one, never half of one. */
export async function writeCache(dir: string, startedAt: number, files: Record<string, NewRecord>, previous: IndexCache): Promise<void> {
  try {
    const header: CacheHeader = { v: CACHE_VERSION, t: startedAt, b: 0, c: 0, files: {} };
    const chunks: string[] = [];
    let length = 0;
    for (const [file, r] of Object.entries(files)) {
      const json = r.json ?? (r.cached ? previous.json(r.cached) : undefined);
      const record: CacheRecord = { h: r.h, s: r.s };
      if (r.a) {
        record.a = r.a;
        if (r.p?.length) record.p = r.p;
      } else if (r.r) {
        record.r = 1;
      } else if (json) {
        record.o = length;
        record.n = json.length;
        length += json.length;
        chunks.push(json);
      } else {
        record.p = r.p ?? [];
      }
      header.files[file] = record;
    }
    // Offsets count UTF-16 units of the decoded body; the header keeps the body's byte length as a check.
    const body = chunks.join('');
    header.b = Buffer.byteLength(body);
    header.c = body.length;
    await mkdir(dir, { recursive: true });
    const path = join(dir, CACHE_NAME);
    const temp = `${path}.${randomBytes(4).toString('hex')}`;
    await writeFile(temp, JSON.stringify(header) + '\n' + body);
    await rename(temp, path);
    await rm(join(dir, OLD_CACHE_NAME), { force: true });
  } catch {
    // the cache is an optimisation only.
  }
}
