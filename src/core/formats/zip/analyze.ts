import type { Finding } from '../findings';
import { describeError } from '../../util/errors';
import { scanPickle } from '../pickle/scan';
import type { ContainerAnalyzer, AnalyzeOptions, FormatAnalysis, ModelFormat } from '../types';
import type { ByteSource } from '../source';
import { readZipDirectory, ZipFormatError, type ZipDirectory, type ZipEntry } from './directory';
import { judgeKerasConfig } from './keras-config';
import { openMember, SliceSource } from './member';

/** One member is decompressed into memory up to this size; a larger one is not scanned (fail closed). */
export const MEMBER_LIMIT = 512 << 20;
/** Total bytes decompressed for one archive. */
export const TOTAL_INFLATE_LIMIT = 2 * 1024 ** 3;
/** Deflate tops out near 1032:1; a ratio this high on a big member is a bomb, not a model. */
const BOMB_RATIO = 1000;
const BOMB_MIN_SIZE = 64 << 20;
/** Stored members are read once for their CRC up to this total (multi-GB tensor archives stay fast). */
const CRC_BUDGET = 256 << 20;
const MAX_GAP_SCAN = 4 << 20;
const MAX_LISTED_MEMBERS = 200;
const KERAS_CONFIG_LIMIT = 64 << 20;

const LOCAL_SIG = Buffer.from('PK\x03\x04', 'latin1');

interface MemberFact {
  name: string;
  size: number;
  method: number;
  format?: string;
}

/**
 * ZIP archives: PyTorch (torch.save >= 1.6), NumPy .npz, Keras .keras, or any zip. The structure is
 * checked first (central directory vs local headers, overlaps, hidden members, bombs); then pickles are
 * walked, Keras configs judged, and other members analysed by content through `analyzeMember` (analyzeSource).
 */
export const analyzeZip: ContainerAnalyzer = async (source, options, analyzeMember) => {
  let dir: ZipDirectory;
  try {
    dir = await readZipDirectory(source);
  } catch (err) {
    if (!(err instanceof ZipFormatError)) throw err;
    return { format: 'zip', facts: {}, findings: [{ rule: 'zip/malformed', severity: 'high', message: `${err.message}: the archive cannot be checked`, location: source.path }] };
  }
  const findings: Finding[] = dir.problems.map((p) => ({ rule: p.rule, severity: p.severity, message: p.message, location: p.member ? `${source.path}!${p.member}` : source.path }));
  const files = dir.entries.filter((e) => !(e.name.endsWith('/') && e.uncompressedSize === 0));
  const format = refineFormat(files);
  findings.push(...structureFindings(source, dir));
  findings.push(...(await gapFindings(source, dir)));

  const torchPrefix = format === 'pytorch-zip' ? torchArchivePrefix(files) : undefined;
  const members: MemberFact[] = [];
  const globals = new Set<string>();
  const budget = { inflated: 0, crc: 0 };
  let pickles = 0;
  let crcUnchecked = 0;
  let torchScript = false;
  let kerasFacts: Record<string, unknown> | undefined;
  for (const e of files) {
    options.signal?.throwIfAborted();
    const where = `${source.path}!${e.name}`;
    const fact: MemberFact = { name: e.name, size: e.uncompressedSize, method: e.method };
    if (members.length < MAX_LISTED_MEMBERS) members.push(fact);
    if (!canRead(e, findings, where)) continue;
    const isRawStorage = torchPrefix !== undefined && isTorchStorage(e.name, torchPrefix);
    if (e.method !== 0) {
      if (e.uncompressedSize > MEMBER_LIMIT) {
        findings.push({ rule: 'zip/member-too-large', severity: 'high', message: `member declares ${e.uncompressedSize} bytes uncompressed, more than the ${MEMBER_LIMIT} this scanner decompresses: not scanned`, location: where });
        continue;
      }
      if (e.uncompressedSize >= BOMB_MIN_SIZE && e.uncompressedSize > e.compressedSize * BOMB_RATIO) {
        findings.push({ rule: 'zip/bomb', severity: 'high', message: `compression ratio ${Math.round(e.uncompressedSize / Math.max(1, e.compressedSize))}:1 on ${e.uncompressedSize} bytes: a decompression bomb, not scanned`, location: where });
        continue;
      }
      if (budget.inflated + e.uncompressedSize > TOTAL_INFLATE_LIMIT) {
        findings.push({ rule: 'zip/bomb', severity: 'high', message: `the archive decompresses to more than ${TOTAL_INFLATE_LIMIT} bytes in total: remaining members not scanned`, location: where });
        break;
      }
      budget.inflated += e.uncompressedSize;
    }
    const checkCrc = e.method !== 0 || budget.crc + e.compressedSize <= CRC_BUDGET;
    if (e.method === 0 && checkCrc) budget.crc += e.compressedSize;
    if (!checkCrc) crcUnchecked++;
    try {
      // Raw tensor storages are never unpickled: only their CRC is checked (within budget), and the rules run.
      if (isRawStorage && !checkCrc && !options.rules) continue;
      const member = await openMember(source, e, Math.min(MEMBER_LIMIT, e.uncompressedSize + 1), checkCrc, options.signal);
      if (member.error) findings.push({ rule: 'zip/corrupt-member', severity: 'high', message: `member data does not decompress (${member.error}): loaders may read it differently`, location: where });
      if (member.truncated) findings.push({ rule: 'zip/size-mismatch', severity: 'high', message: `member decompresses to more than its declared ${e.uncompressedSize} bytes`, location: where });
      if (member.crcOk === false) findings.push({ rule: 'zip/crc-mismatch', severity: 'high', message: `member content does not match its CRC-32 ${e.crc.toString(16)} (or its declared size): altered after writing, or crafted so readers that skip CRC checks see other bytes`, location: where });
      // Members read here rather than through analyzeMember get the rule stage here.
      const ruleScan = async (memberFormat: ModelFormat): Promise<void> => {
        if (options.rules) findings.push(...(await options.rules.scan(member.source, { format: memberFormat, signal: options.signal })));
      };
      if (isRawStorage) {
        await ruleScan('unknown');
        continue;
      }
      const lower = e.name.toLowerCase();
      if (lower.endsWith('.pkl')) {
        await ruleScan('pickle');
        const scan = await scanPickle(member.source, { signal: options.signal });
        pickles++;
        fact.format = scan.joblib ? 'joblib' : 'pickle';
        for (const g of scan.walk.globals) if (g.resolved) globals.add(g.path);
        findings.push(...scan.findings);
      } else if (format === 'keras' && e.name === 'config.json') {
        fact.format = 'keras-config';
        await ruleScan('unknown');
        const result = await kerasConfig(member.source);
        findings.push(...result.findings);
        kerasFacts = result.facts;
      } else if (torchPrefix !== undefined && /(^|\/)code\/.*\.py$/.test(e.name)) {
        fact.format = 'torchscript';
        await ruleScan('unknown');
        if (!torchScript) findings.push({ rule: 'zip/torchscript-code', severity: 'medium', message: 'TorchScript code inside: torch.jit.load compiles and runs it (a restricted language, but code all the same)', location: where });
        torchScript = true;
      } else {
        const inner: FormatAnalysis = await analyzeMember(member.source, options as AnalyzeOptions);
        fact.format = inner.format;
        findings.push(...inner.findings);
        const innerGlobals = inner.facts.globals;
        if (Array.isArray(innerGlobals)) for (const g of innerGlobals) if (typeof g === 'string') globals.add(g);
      }
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      findings.push({ rule: 'zip/member-error', severity: 'high', message: `member could not be analysed: ${describeError(err)}`, location: where });
    }
  }
  // The archive's own bytes outside stored members (headers, names, comments, compressed streams, bytes
  // before the first member or between members): stored members were scanned above, as members.
  if (options.rules) {
    for (const [from, to] of uncoveredRanges(source.size, dir.entries)) {
      options.signal?.throwIfAborted();
      findings.push(...(await options.rules.scan(new SliceSource(source.path, source, from, to - from, source.depth), { format, baseOffset: from, signal: options.signal })));
    }
  }
  const summary: Record<string, unknown> = { members: files.length, pickles };
  if (torchPrefix !== undefined) summary.tensorStorages = files.filter((e) => isTorchStorage(e.name, torchPrefix)).length;
  if (kerasFacts) Object.assign(summary, { layers: kerasFacts.layers, lambdaLayers: kerasFacts.lambdaLayers });
  const facts: Record<string, unknown> = {
    summary,
    members,
    globals: [...globals],
    zip64: dir.zip64,
    crcUnchecked,
    ...(kerasFacts ? { keras: kerasFacts } : {}),
    ...(torchScript ? { torchScript } : {}),
  };
  return { format, facts, findings, rulesCovered: true };
};

/** [from, to) ranges of the archive not holding a stored (method 0) member's data, merged and sorted. */
export function uncoveredRanges(size: number, entries: readonly ZipEntry[]): [number, number][] {
  const stored = entries
    .filter((e) => e.method === 0 && e.dataOffset !== undefined && !(e.flags & 0x1) && e.compressedSize > 0)
    .map((e) => [e.dataOffset as number, Math.min(size, (e.dataOffset as number) + e.compressedSize)] as [number, number])
    .sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  let cursor = 0;
  for (const [from, to] of stored) {
    if (from > cursor) out.push([cursor, from]);
    cursor = Math.max(cursor, to);
  }
  if (cursor < size) out.push([cursor, size]);
  return out;
}

/** The format a zip really is, from its member names (never the file extension). */
function refineFormat(files: ZipEntry[]): ModelFormat {
  const names = files.map((e) => e.name);
  if (names.some((n) => /(^|\/)data\.pkl$/.test(n))) return 'pytorch-zip';
  if (names.includes('config.json') && (names.includes('metadata.json') || names.includes('model.weights.h5'))) return 'keras';
  if (names.length > 0 && names.every((n) => n.endsWith('.npy'))) return 'npz';
  return 'zip';
}

/** "archive/" for "archive/data.pkl" (torch names the folder after the file it saved). */
function torchArchivePrefix(files: ZipEntry[]): string {
  const pkl = files.find((e) => /(^|\/)data\.pkl$/.test(e.name)) as ZipEntry;
  return pkl.name.slice(0, pkl.name.length - 'data.pkl'.length);
}

function isTorchStorage(name: string, prefix: string): boolean {
  return name.startsWith(`${prefix}data/`) && /^\w+$/.test(name.slice(prefix.length + 5));
}

/** Members the scanner cannot read fail closed. */
function canRead(e: ZipEntry, findings: Finding[], where: string): boolean {
  if (e.local === undefined || e.dataOffset === undefined) return false; // already a bad-local-header finding
  if (e.flags & 0x1) {
    findings.push({ rule: 'zip/encrypted', severity: 'high', message: 'encrypted member: its content cannot be scanned', location: where });
    return false;
  }
  if (e.method !== 0 && e.method !== 8 && e.method !== 12) {
    findings.push({ rule: 'zip/unsupported-method', severity: 'high', message: `compression method ${e.method} is not supported by this scanner (stored, deflate and bzip2 are): not scanned`, location: where });
    return false;
  }
  return true;
}

function structureFindings(source: ByteSource, dir: ZipDirectory): Finding[] {
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const e of dir.entries) {
    const where = `${source.path}!${e.name}`;
    if (seen.has(e.name)) findings.push({ rule: 'zip/duplicate-name', severity: 'high', message: `two members are named "${e.name}": readers disagree on which one they load`, location: where });
    seen.add(e.name);
    if (/(^|[\\/])\.\.([\\/]|$)/.test(e.name) || e.name.startsWith('/') || /^[A-Za-z]:/.test(e.name) || e.name.includes('\0')) {
      findings.push({ rule: 'zip/unsafe-name', severity: 'medium', message: `member name "${e.name}" escapes the extraction folder (path traversal when extracted)`, location: where });
    }
  }
  // Overlapping members: one compressed stream shared by many entries is the classic non-recursive bomb.
  const placed = dir.entries.filter((e) => e.dataOffset !== undefined).sort((a, b) => a.localOffset - b.localOffset);
  for (let i = 1; i < placed.length; i++) {
    const prev = placed[i - 1];
    const end = (prev.dataOffset as number) + prev.compressedSize;
    if (end > placed[i].localOffset) {
      findings.push({ rule: 'zip/overlapping-members', severity: 'high', message: `members "${prev.name}" and "${placed[i].name}" share bytes (overlapping entries: a zip-bomb and reader-confusion technique)`, location: source.path });
      break;
    }
  }
  return findings;
}

/** Bytes no entry accounts for that contain a local header signature hide a member from central-directory readers. */
async function gapFindings(source: ByteSource, dir: ZipDirectory): Promise<Finding[]> {
  const placed = dir.entries.filter((e) => e.dataOffset !== undefined).sort((a, b) => a.localOffset - b.localOffset);
  const gaps: [number, number][] = [];
  let cursor = 0;
  for (const e of placed) {
    if (e.localOffset > cursor) gaps.push([cursor, e.localOffset]);
    cursor = Math.max(cursor, (e.dataOffset as number) + e.compressedSize);
  }
  if (dir.centralOffset > cursor) gaps.push([cursor, dir.centralOffset]);
  const findings: Finding[] = [];
  let unaccounted = 0;
  for (const [from, to] of gaps) {
    if (to - from > MAX_GAP_SCAN) {
      unaccounted += to - from;
      continue;
    }
    const bytes = await source.readAt(from, to - from);
    const at = bytes.indexOf(LOCAL_SIG);
    if (at >= 0) {
      findings.push({ rule: 'zip/hidden-member', severity: 'high', message: `a local file header at offset ${from + at} belongs to no central directory entry: a member hidden from some readers and shown to others`, location: source.path });
      break;
    }
  }
  if (unaccounted > 0) findings.push({ rule: 'zip/unaccounted-bytes', severity: 'medium', message: `${unaccounted} bytes between members belong to no entry and were not searched`, location: source.path });
  return findings;
}

async function kerasConfig(source: ByteSource): Promise<{ findings: Finding[]; facts: Record<string, unknown> }> {
  if (source.size > KERAS_CONFIG_LIMIT) {
    return { findings: [{ rule: 'keras/config-too-large', severity: 'high', message: `config.json is ${source.size} bytes: not parsed`, location: source.path }], facts: {} };
  }
  const text = (await source.readAt(0, source.size)).toString('utf8');
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    return { findings: [{ rule: 'keras/bad-config', severity: 'high', message: `config.json is not valid JSON (${(err as Error).message}): the model cannot be checked`, location: source.path }], facts: {} };
  }
  const judged = judgeKerasConfig(config, source.path);
  return { findings: judged.findings, facts: judged.facts };
}
