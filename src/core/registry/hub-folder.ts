import { readFile, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { parseDocument } from 'yaml';
import { FileSource } from '../formats/source';
import { readSafetensorsHeader } from '../formats/safetensors/header';
import { FindingCollector } from '../formats/onnx/findingCollector';

/**
 * A model folder as the Hugging Face hub lays it out (what `huggingface-cli download` or `git clone` of a
 * model repository leaves): config.json, tokenizer files, weights in shards with an index
 * (`model.safetensors.index.json`: `weight_map` tensor -> shard file), and a model card (README.md) whose
 * YAML front matter carries `license`, `base_model`, `datasets`. Everything here reads files the scanner has
 * already accepted, in quarantine; nothing is trusted beyond what it checks.
 */

/** Front matter larger than this is not read (a model card's metadata is a few KB). */
const MAX_CARD_BYTES = 1 << 20;
/** Shard index files larger than this are refused (a 1,000-tensor index is ~100 KB). */
const MAX_INDEX_BYTES = 64 << 20;
/** Names printed per problem before "and N more". */
const LIST = 5;

const LICENSE_ID = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,99}$/;
/** A hub repository id (`org/name` or `name`). */
const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$/;
const RELATIONS = ['adapter', 'merge', 'quantized', 'finetune'] as const;

export interface ModelCard {
  /** Path of the card inside the folder. */
  path: string;
  license?: string;
  baseModel: string[];
  baseModelRelation?: (typeof RELATIONS)[number];
  datasets: string[];
  /** Fields present but not usable (wrong type or shape): ignored, and said so. */
  problems: string[];
}

/**
 * Reads the YAML front matter of the model card (README.md at the top of the folder). Undefined when there
 * is no card or no front matter; a card whose front matter cannot be parsed gives a card with a problem.
 */
export async function readModelCard(dir: string, files: readonly string[]): Promise<ModelCard | undefined> {
  const rel = files.find((f) => f.toLowerCase() === 'readme.md');
  if (!rel) return undefined;
  const card: ModelCard = { path: rel, baseModel: [], datasets: [], problems: [] };
  const text = await readHead(posix.join(dir, rel), MAX_CARD_BYTES);
  const m = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return /^\uFEFF?---[ \t]*\r?\n/.test(text) ? { ...card, problems: [`the front matter of ${rel} is not closed by a "---" line within its first ${MAX_CARD_BYTES / 1024} KiB`] } : undefined;
  const doc = parseDocument(m[1], { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return { ...card, problems: [`the front matter of ${rel} is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`] };
  let meta: unknown;
  try {
    meta = doc.toJS({ maxAliasCount: 50 }); // an alias bomb in a README throws here instead of expanding
  } catch (err) {
    return { ...card, problems: [`the front matter of ${rel} cannot be read: ${(err as Error).message}`] };
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return { ...card, problems: [`the front matter of ${rel} is not a mapping`] };
  const fm = meta as Record<string, unknown>;

  let license = fm.license;
  if (license === 'other' && typeof fm.license_name === 'string') license = fm.license_name;
  if (Array.isArray(license) && license.length === 1) license = license[0];
  if (typeof license === 'string' && LICENSE_ID.test(license.trim())) card.license = license.trim();
  else if (license !== undefined) card.problems.push(`license ${JSON.stringify(license).slice(0, 80)} is not a licence id`);

  card.baseModel = hubIds(fm.base_model, 'base_model', card.problems);
  card.datasets = hubIds(fm.datasets, 'datasets', card.problems);
  const relation = fm.base_model_relation;
  if (typeof relation === 'string' && (RELATIONS as readonly string[]).includes(relation)) card.baseModelRelation = relation as ModelCard['baseModelRelation'];
  else if (relation !== undefined) card.problems.push(`base_model_relation ${JSON.stringify(relation).slice(0, 40)} is not one of ${RELATIONS.join(', ')}`);
  return card;
}

function hubIds(value: unknown, field: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  const ok: string[] = [];
  for (const v of list.slice(0, 64)) {
    if (typeof v === 'string' && HUB_ID.test(v.trim())) {
      if (!ok.includes(v.trim())) ok.push(v.trim());
    } else problems.push(`${field} entry ${JSON.stringify(v).slice(0, 80)} is not a hub id (ORG/NAME)`);
  }
  if (list.length > 64) problems.push(`${field} lists ${list.length} entries: only the first 64 are read`);
  return ok;
}

async function readHead(path: string, max: number): Promise<string> {
  const size = (await stat(path)).size;
  if (size <= max) return readFile(path, 'utf8');
  const source = await FileSource.open(path);
  try {
    return (await source.readAt(0, max)).toString('utf8');
  } finally {
    await source.close();
  }
}

/** What a shard index promises, checked against the folder. */
export interface ShardIndexReport {
  /** The index file (folder-relative). */
  index: string;
  /** Shard files it names (folder-relative). */
  shards: string[];
  tensors: number;
}

export interface ShardCheck {
  indexes: ShardIndexReport[];
  /** Every way the folder and its indexes disagree; empty when they agree. */
  problems: string[];
  /** Worth saying, not a disagreement: weight shards with no index at all (some tools load them without one). */
  warnings: string[];
}

/** `model-00001-of-00003.safetensors` -> prefix `model`, suffix `.safetensors`. */
const SHARD_NAME = /^(.*)-(\d+)-of-(\d+)(\.[A-Za-z0-9]+)$/;

/**
 * Checks every `*.index.json` shard index in the folder against the files present: each shard it names
 * exists (a loader following the index fails on a missing one); no shard-named file sits beside it that it
 * does not name (weights a loader ignores, or that another index would load); and, for safetensors shards, each tensor the index maps to a shard is in that shard's header and
 * each tensor in a shard is mapped to it. Weight shards with no index at all are a warning: there is nothing
 * to check them against, and some tools (mistral-inference, llama.cpp splits) load shards without one.
 */
export async function checkShardIndexes(dir: string, files: readonly string[]): Promise<ShardCheck> {
  const present = new Set(files);
  const problems: string[] = [];
  const warnings: string[] = [];
  const indexes: ShardIndexReport[] = [];
  const named = new Set<string>();
  const families = new Set<string>(); // "folder|prefix|suffix" of indexed shard names

  for (const index of files.filter((f) => f.endsWith('.index.json')).sort()) {
    const map = await readWeightMap(posix.join(dir, index), index, problems);
    if (!map) continue;
    const base = posix.dirname(index);
    const shards = new Map<string, string[]>(); // shard path -> tensors the index maps to it
    let unsafe = false;
    for (const [tensor, file] of map) {
      const path = posix.normalize(posix.join(base, file));
      if (file.startsWith('/') || file.includes('\\') || path.startsWith('../') || path === '..') {
        if (!unsafe) problems.push(`${index} maps ${tensor} to ${JSON.stringify(file)}, a path outside the folder`);
        unsafe = true;
        continue;
      }
      const list = shards.get(path) ?? [];
      list.push(tensor);
      shards.set(path, list);
    }
    if (unsafe) continue;
    const listed = [...shards.keys()].sort();
    indexes.push({ index, shards: listed, tensors: map.size });
    const missing = listed.filter((s) => !present.has(s));
    if (missing.length) problems.push(`${index} names ${listed.length} shard(s); missing: ${few(missing)}`);
    for (const s of listed) {
      named.add(s);
      const m = SHARD_NAME.exec(posix.basename(s));
      if (m) families.add(`${posix.dirname(s)}|${m[1]}|${m[4]}`);
    }
    for (const s of listed) {
      if (!present.has(s) || !s.endsWith('.safetensors')) continue;
      const mine = new Set(shards.get(s));
      const inFile = await tensorNames(posix.join(dir, s));
      if (!inFile) continue; // unreadable: the scanner has already refused it
      const absent = [...mine].filter((t) => !inFile.has(t));
      if (absent.length) problems.push(`${index} maps ${absent.length} tensor(s) to ${s}, which does not contain them: ${few(absent)}`);
      const unmapped = [...inFile].filter((t) => !mine.has(t));
      if (unmapped.length) problems.push(`${s} holds ${unmapped.length} tensor(s) that ${index} does not map to it: ${few(unmapped)}`);
    }
  }

  // Shard-named files nobody indexes: beside an index of the same family (an extra shard), or with no index.
  const orphans = new Map<string, string[]>();
  for (const f of files) {
    const m = SHARD_NAME.exec(posix.basename(f));
    if (!m || named.has(f) || f.endsWith('.index.json')) continue;
    const family = `${posix.dirname(f)}|${m[1]}|${m[4]}`;
    if (!families.has(family) && !WEIGHT_SUFFIXES.has(m[4].toLowerCase())) continue;
    const list = orphans.get(family) ?? [];
    list.push(f);
    orphans.set(family, list);
  }
  for (const [family, list] of orphans) {
    list.sort();
    if (families.has(family)) problems.push(`${few(list)} ${list.length === 1 ? 'is a shard' : 'are shards'} that no index names (an extra or stale shard: loaders that follow the index ignore it)`);
    else warnings.push(`${few(list)} ${list.length === 1 ? 'is a weight shard' : 'are weight shards'} with no index beside ${list.length === 1 ? 'it' : 'them'}: nothing to check them against (Hugging Face loaders need ${family.split('|')[1]}${family.split('|')[2]}.index.json to load them)`);
  }
  return { indexes, problems, warnings };
}

/** Extensions of weight files that hub loaders shard through an index (an orphan of these is a problem even without one; split GGUF files carry their own split metadata instead). */
const WEIGHT_SUFFIXES = new Set(['.safetensors', '.bin', '.pt', '.pth', '.h5', '.msgpack']);

async function readWeightMap(path: string, index: string, problems: string[]): Promise<Map<string, string> | undefined> {
  const size = (await stat(path)).size;
  if (size > MAX_INDEX_BYTES) {
    problems.push(`${index} is ${size} bytes, more than the ${MAX_INDEX_BYTES >> 20} MiB a shard index may have`);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    problems.push(`${index} is not valid JSON: ${(err as Error).message}`);
    return undefined;
  }
  const wm = json !== null && typeof json === 'object' ? (json as Record<string, unknown>).weight_map : undefined;
  if (wm === null || typeof wm !== 'object' || Array.isArray(wm)) {
    problems.push(`${index} has no "weight_map" object (tensor name -> shard file)`);
    return undefined;
  }
  const map = new Map<string, string>();
  for (const [tensor, file] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof file !== 'string' || file.length === 0) {
      problems.push(`${index} maps ${tensor} to ${JSON.stringify(file)}, not a file name`);
      return undefined;
    }
    map.set(tensor, file);
  }
  if (map.size === 0) problems.push(`${index} maps no tensors`);
  return map;
}

async function tensorNames(path: string): Promise<Set<string> | undefined> {
  const source = await FileSource.open(path);
  try {
    const header = await readSafetensorsHeader(source, new FindingCollector(path));
    if (!header) return undefined;
    return new Set(Object.keys(header.json).filter((k) => k !== '__metadata__'));
  } finally {
    await source.close();
  }
}

function few(items: readonly string[]): string {
  return items.length <= LIST ? items.join(', ') : `${items.slice(0, LIST).join(', ')} and ${items.length - LIST} more`;
}
