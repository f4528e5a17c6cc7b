import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ByteSource, MetadataText, ModelFormat } from '../formats';
import type { Finding } from '../formats/findings';
import { stageForPack, type RulePack, type YaraEngine } from './rules';
import { userCacheDir } from '../util/user-cache';

/**
 * The rule stage's verdicts, cached by the bytes' sha256 and the rule pack's digest (RulePack.digest): the
 * load gate (validateModelFile) runs the malware rules on every load, and a second load of the same bytes
 * under the same rules reads the verdict here instead of scanning the file again. A changed rule file, an
 * added policy pack or another engine version changes the digest, so the old verdicts no longer apply.
 *
 * The cache is an optimisation: a missing, damaged or read-only file means the rules run again. Verdicts
 * that say the rules did not run (`yara/unavailable`, `yara/scan-error`) are never stored.
 */
export interface RuleVerdict {
  findings: Finding[];
  /** True when the verdict came from the cache (the rules did not run over the file this time). */
  cached: boolean;
  /** The rule pack's digest the verdict belongs to. */
  pack: string;
}

/** How many verdicts the file keeps (the oldest go first): a few hundred bytes each. */
const MAX_ENTRIES = 2000;
/** Stands for the file's path in a stored finding's location (the same bytes can be loaded from another path). */
const HERE = '\u0000';
/** Rule ids that mean "the rules did not look": such a verdict is not a verdict, it is never cached. */
const NOT_A_VERDICT = new Set(['yara/unavailable', 'yara/scan-error']);

/** Counters for this process (tests read them: a timing-free proof that a load skipped the scan). */
export const ruleVerdictStats = { scans: 0, hits: 0 };

interface Entry {
  f: Finding[];
  t: number;
}

/** The default cache file: beside the other per-user caches (`$XDG_CACHE_HOME/sovereign`, else `~/.cache/sovereign`). */
export function defaultRuleVerdictFile(): string {
  return join(userCacheDir(), 'rule-verdicts.json');
}

async function readEntries(file: string): Promise<Record<string, Entry>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { v?: number; entries?: Record<string, Entry> };
    if (parsed.v === 1 && parsed.entries && typeof parsed.entries === 'object') return parsed.entries;
  } catch {
    // no cache yet, or a damaged one: the rules run.
  }
  return {};
}

async function store(file: string, key: string, entry: Entry): Promise<void> {
  try {
    // Read again just before writing: another process may have added verdicts since (last writer wins otherwise).
    const entries = await readEntries(file);
    entries[key] = entry;
    const keys = Object.keys(entries);
    if (keys.length > MAX_ENTRIES) {
      keys.sort((a, b) => entries[a].t - entries[b].t);
      for (const k of keys.slice(0, keys.length - MAX_ENTRIES)) delete entries[k];
    }
    await mkdir(dirname(file), { recursive: true });
    const temp = `${file}.${randomBytes(4).toString('hex')}`;
    await writeFile(temp, JSON.stringify({ v: 1, entries }));
    await rename(temp, file);
  } catch {
    // a read-only home (a container): the next load scans again, still correct.
  }
}

function valid(f: unknown): f is Finding {
  const x = f as Finding;
  return !!x && typeof x.rule === 'string' && typeof x.severity === 'string' && typeof x.message === 'string';
}

/**
 * The rule verdict for `source` (a file on disk whose sha256 is `sha256`): from the cache when the same bytes
 * were judged by the same pack before, else by running the pack's stage over the source and the metadata
 * strings its reader decoded (`request.texts`). Findings name `source.path` either way.
 */
export async function ruleVerdict(
  source: ByteSource,
  request: { format: ModelFormat; texts?: readonly MetadataText[]; signal?: AbortSignal },
  sha256: string,
  pack: RulePack,
  options: { cacheFile?: string | null; engine?: () => YaraEngine } = {},
): Promise<RuleVerdict> {
  const file = options.cacheFile === undefined ? defaultRuleVerdictFile() : options.cacheFile;
  const key = `${sha256}:${pack.digest}`;
  if (file) {
    const hit = (await readEntries(file))[key];
    if (hit && Array.isArray(hit.f) && hit.f.every(valid)) {
      ruleVerdictStats.hits++;
      const findings = hit.f.map((f) => ({ ...f, ...(f.location !== undefined ? { location: f.location.split(HERE).join(source.path) } : {}) }));
      return { findings, cached: true, pack: pack.digest };
    }
  }
  const stage = await stageForPack(pack, options.engine);
  ruleVerdictStats.scans++;
  const findings = await stage.scan(source, request);
  if (file && !findings.some((f) => NOT_A_VERDICT.has(f.rule))) {
    const portable = findings.map((f) => ({ ...f, ...(f.location !== undefined ? { location: f.location.startsWith(source.path) ? HERE + f.location.slice(source.path.length) : f.location } : {}) }));
    await store(file, key, { f: portable, t: Date.now() });
  }
  return { findings, cached: false, pack: pack.digest };
}
