import type { ByteSource } from '../source';

/**
 * ZIP structure reader for untrusted archives: the end record (ZIP64 too), every central directory entry
 * AND every local header, so callers can compare the two views. Readers disagree on which view to trust
 * (Python's zipfile and PyTorch's miniz use the central directory, streaming readers the local headers):
 * an archive whose views differ can show a scanner one member and a loader another.
 */

export interface ZipEntry {
  index: number;
  /** Name from the central directory (UTF-8 if flag bit 11, else CP437, decoded as Latin-1 here). */
  name: string;
  centralNameBytes: Buffer;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Absolute offset of the local header (after the prefix adjustment, if any). */
  localOffset: number;
  local?: LocalHeader;
  /** Absolute offset of the member data, when the local header was readable. */
  dataOffset?: number;
}

export interface LocalHeader {
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  nameBytes: Buffer;
  extraLength: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  centralOffset: number;
  centralSize: number;
  eocdOffset: number;
  zip64: boolean;
  /** Bytes before the first member that the end record does not account for (self-extractors, polyglots). */
  prefix: number;
  /** Problems found while reading the structure (each becomes a finding). */
  problems: ZipProblem[];
}

export interface ZipProblem {
  rule: string;
  severity: 'low' | 'medium' | 'high';
  message: string;
  member?: string;
}

export class ZipFormatError extends Error {}

const EOCD_SIG = 0x06054b50;
const EOCD64_LOCATOR_SIG = 0x07064b50;
const EOCD64_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const DESCRIPTOR_SIG = 0x08074b50;
/** A model archive with more members than this is refused (PyTorch writes a few per tensor). */
export const MAX_ENTRIES = 200_000;
const MAX_CENTRAL_BYTES = 256 << 20;

export async function readZipDirectory(source: ByteSource): Promise<ZipDirectory> {
  const problems: ZipProblem[] = [];
  const tailLength = Math.min(source.size, 22 + 0xffff);
  const tailStart = source.size - tailLength;
  const tail = await source.readAt(tailStart, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      const commentLength = tail.readUInt16LE(i + 20);
      if (i + 22 + commentLength === tail.length) {
        eocd = i;
        break;
      }
      if (eocd < 0) eocd = i; // keep the last candidate in case no comment length matches exactly
    }
  }
  if (eocd < 0) throw new ZipFormatError('no end-of-central-directory record: not a complete ZIP archive (truncated?)');
  const eocdOffset = tailStart + eocd;
  if (eocd + 22 + tail.readUInt16LE(eocd + 20) !== tail.length) {
    problems.push({ rule: 'zip/trailing-data', severity: 'medium', message: `${tail.length - eocd - 22 - tail.readUInt16LE(eocd + 20)} bytes after the end record, outside the archive` });
  }
  const disk = tail.readUInt16LE(eocd + 4);
  const cdDisk = tail.readUInt16LE(eocd + 6);
  let count = tail.readUInt16LE(eocd + 10);
  let centralSize = tail.readUInt32LE(eocd + 12);
  let centralOffset = tail.readUInt32LE(eocd + 16);
  let zip64 = false;
  let centralEnd = eocdOffset;
  if (count === 0xffff || centralSize === 0xffffffff || centralOffset === 0xffffffff || eocdOffset >= 20) {
    const locatorAt = eocdOffset - 20;
    const locator = locatorAt >= 0 ? await source.readAt(locatorAt, 20) : Buffer.alloc(0);
    if (locator.length === 20 && locator.readUInt32LE(0) === EOCD64_LOCATOR_SIG) {
      const at = num64(locator, 8);
      const rec = await source.readAt(at, 56);
      if (rec.length < 56 || rec.readUInt32LE(0) !== EOCD64_SIG) throw new ZipFormatError('ZIP64 locator points to no ZIP64 end record');
      zip64 = true;
      count = num64(rec, 32);
      centralSize = num64(rec, 40);
      centralOffset = num64(rec, 48);
      centralEnd = at;
    } else if (count === 0xffff && centralSize === 0xffffffff) {
      throw new ZipFormatError('ZIP64 values without a ZIP64 end record');
    }
  }
  if (disk !== 0 || cdDisk !== 0) throw new ZipFormatError('multi-disk (split) archives are not supported');
  if (count > MAX_ENTRIES) throw new ZipFormatError(`${count} members: more than the ${MAX_ENTRIES} a model archive may have`);
  if (centralSize > MAX_CENTRAL_BYTES) throw new ZipFormatError(`central directory of ${centralSize} bytes is larger than ${MAX_CENTRAL_BYTES}`);
  // Python's zipfile tolerates bytes prepended to the archive by shifting every offset; so do we, loudly.
  const realCentral = centralEnd - centralSize;
  const prefix = realCentral - centralOffset;
  if (prefix < 0) throw new ZipFormatError('the central directory claims to extend past the end record');
  if (prefix > 0) {
    problems.push({ rule: 'zip/offset-mismatch', severity: 'high', message: `${prefix} bytes precede the archive's own offsets: readers that do not shift offsets see different members (polyglot or self-extracting file)` });
  }
  const central = await source.readAt(realCentral, centralSize);
  if (central.length < centralSize) throw new ZipFormatError('central directory runs past the end of the file');
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > central.length || central.readUInt32LE(p) !== CENTRAL_SIG) {
      throw new ZipFormatError(`central directory entry ${i} is malformed (the end record claims ${count} entries)`);
    }
    const flags = central.readUInt16LE(p + 8);
    const method = central.readUInt16LE(p + 10);
    const crc = central.readUInt32LE(p + 16);
    let compressedSize = central.readUInt32LE(p + 20);
    let uncompressedSize = central.readUInt32LE(p + 24);
    const nameLength = central.readUInt16LE(p + 28);
    const extraLength = central.readUInt16LE(p + 30);
    const commentLength = central.readUInt16LE(p + 32);
    let localOffset = central.readUInt32LE(p + 42);
    const varEnd = p + 46 + nameLength + extraLength + commentLength;
    if (varEnd > central.length) throw new ZipFormatError(`central directory entry ${i} runs past the directory`);
    const nameBytes = central.subarray(p + 46, p + 46 + nameLength);
    const extra = central.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
    const z64 = zip64Extra(extra);
    if (z64) {
      let k = 0;
      if (uncompressedSize === 0xffffffff && k < z64.length) uncompressedSize = z64[k++];
      if (compressedSize === 0xffffffff && k < z64.length) compressedSize = z64[k++];
      if (localOffset === 0xffffffff && k < z64.length) localOffset = z64[k++];
    }
    entries.push({
      index: i,
      name: nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1'),
      centralNameBytes: Buffer.from(nameBytes),
      flags,
      method,
      crc,
      compressedSize,
      uncompressedSize,
      localOffset: localOffset + prefix,
    });
    p = varEnd;
  }
  if (p !== central.length) problems.push({ rule: 'zip/central-directory-size', severity: 'medium', message: `central directory has ${central.length - p} bytes after its ${count} entries` });
  for (const e of entries) await readLocal(source, e, realCentral, problems);
  return { entries, centralOffset: realCentral, centralSize, eocdOffset, zip64, prefix, problems };
}

/** Reads and compares an entry's local header (and data descriptor) with its central directory record. */
async function readLocal(source: ByteSource, e: ZipEntry, centralStart: number, problems: ZipProblem[]): Promise<void> {
  const problem = (rule: string, severity: ZipProblem['severity'], message: string) => problems.push({ rule, severity, message, member: e.name });
  const head = await source.readAt(e.localOffset, 30);
  if (head.length < 30 || head.readUInt32LE(0) !== LOCAL_SIG) {
    problem('zip/bad-local-header', 'high', `no local header at offset ${e.localOffset} where the central directory puts "${e.name}"`);
    return;
  }
  const nameLength = head.readUInt16LE(26);
  const extraLength = head.readUInt16LE(28);
  const vars = await source.readAt(e.localOffset + 30, nameLength + extraLength);
  if (vars.length < nameLength + extraLength) {
    problem('zip/bad-local-header', 'high', `local header of "${e.name}" runs past the end of the file`);
    return;
  }
  const local: LocalHeader = {
    flags: head.readUInt16LE(6),
    method: head.readUInt16LE(8),
    crc: head.readUInt32LE(14),
    compressedSize: head.readUInt32LE(18),
    uncompressedSize: head.readUInt32LE(22),
    nameBytes: Buffer.from(vars.subarray(0, nameLength)),
    extraLength,
  };
  const z64 = zip64Extra(vars.subarray(nameLength));
  if (z64 && (local.uncompressedSize === 0xffffffff || local.compressedSize === 0xffffffff)) {
    if (z64.length >= 1) local.uncompressedSize = z64[0];
    if (z64.length >= 2) local.compressedSize = z64[1];
  }
  e.local = local;
  e.dataOffset = e.localOffset + 30 + nameLength + extraLength;
  const mismatches: string[] = [];
  if (!local.nameBytes.equals(e.centralNameBytes)) mismatches.push(`name "${local.nameBytes.toString('latin1')}" vs "${e.name}"`);
  if (local.method !== e.method) mismatches.push(`method ${local.method} vs ${e.method}`);
  if (local.flags !== e.flags) mismatches.push(`flags 0x${local.flags.toString(16)} vs 0x${e.flags.toString(16)}`);
  if (local.flags & 0x08) {
    // Sizes and CRC follow the data in a descriptor: compare those instead of the (zero) local fields.
    const dd = await source.readAt(e.dataOffset + e.compressedSize, 24);
    let q = dd.length >= 4 && dd.readUInt32LE(0) === DESCRIPTOR_SIG ? 4 : 0;
    if (dd.length >= q + 12) {
      const crc = dd.readUInt32LE(q);
      q += 4;
      const wide = e.compressedSize >= 0xffffffff || e.uncompressedSize >= 0xffffffff || (local.compressedSize === 0xffffffff);
      const csize = wide && dd.length >= q + 16 ? num64(dd, q) : dd.readUInt32LE(q);
      const usize = wide && dd.length >= q + 16 ? num64(dd, q + 8) : dd.readUInt32LE(q + 4);
      if (crc !== e.crc) mismatches.push(`data-descriptor CRC ${hex(crc)} vs ${hex(e.crc)}`);
      if (csize !== e.compressedSize || usize !== e.uncompressedSize) mismatches.push(`data-descriptor sizes ${csize}/${usize} vs ${e.compressedSize}/${e.uncompressedSize}`);
    } else mismatches.push('data descriptor missing');
  } else {
    if (local.crc !== e.crc) mismatches.push(`CRC ${hex(local.crc)} vs ${hex(e.crc)}`);
    if (local.compressedSize !== e.compressedSize) mismatches.push(`compressed size ${local.compressedSize} vs ${e.compressedSize}`);
    if (local.uncompressedSize !== e.uncompressedSize) mismatches.push(`size ${local.uncompressedSize} vs ${e.uncompressedSize}`);
  }
  if (mismatches.length > 0) {
    problem('zip/header-mismatch', 'high', `local header and central directory disagree for "${e.name}" (${mismatches.join('; ')}): readers that trust different views load different bytes`);
  }
  if (e.dataOffset + e.compressedSize > centralStart) {
    problem('zip/member-out-of-bounds', 'high', `data of "${e.name}" (${e.compressedSize} bytes at offset ${e.dataOffset}) runs into the central directory or past the end`);
  }
}

/** The ZIP64 extended-information extra field (id 0x0001) as 64-bit values, in order. */
function zip64Extra(extra: Buffer): number[] | undefined {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = extra.readUInt16LE(p);
    const size = extra.readUInt16LE(p + 2);
    if (p + 4 + size > extra.length) return undefined;
    if (id === 0x0001) {
      const values: number[] = [];
      for (let q = p + 4; q + 8 <= p + 4 + size; q += 8) values.push(num64(extra, q));
      return values;
    }
    p += 4 + size;
  }
  return undefined;
}

/** A u64 as a number; values past 2^53 become Infinity so every later bounds check fails. */
function num64(buf: Buffer, at: number): number {
  const v = buf.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(v);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
