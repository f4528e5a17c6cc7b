import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeAtomic } from '../workspace/atomic-write';
import { IoError, ioError, RefusedError } from '../util/errors';
import { parseIndex } from './registry-client';
import type { BlobOutcome, OciTarget, PushBlobOptions } from './target';
import { DIGEST, hexOf, MAX_MANIFEST_BYTES, OCI_INDEX, REF_NAME, type Descriptor, type FetchedManifest, type ImageIndex } from './types';

/**
 * An OCI image layout folder (image-spec `image-layout.md`): `oci-layout`, `index.json`, `blobs/sha256/HEX`.
 * Tagged manifests carry `org.opencontainers.image.ref.name`; referrers are listed in index.json without a
 * tag and found by their `subject` (image-spec 1.1). skopeo reads and writes the same folders (`oci:DIR:TAG`).
 */
export class LayoutTarget implements OciTarget {
  readonly display: string;

  constructor(
    readonly dir: string,
    private readonly create: boolean,
  ) {
    this.display = `oci:${dir}`;
  }

  close(): void {}

  private blobPath(digest: string): string {
    if (!DIGEST.test(digest)) throw new RefusedError(`"${digest}" is not a sha256 digest`);
    return join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  private async ensure(): Promise<void> {
    try {
      const st = await stat(join(this.dir, 'oci-layout'));
      if (st.isFile()) return;
    } catch {
      // created below
    }
    if (!this.create) throw new IoError(`${this.dir} is not an OCI image layout (no oci-layout file)`, 'point at a folder written by `sovereign push --to-dir` or `skopeo copy ... oci:DIR:TAG`');
    try {
      await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
      await writeAtomic(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }) + '\n');
      await writeAtomic(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] }, null, 2) + '\n');
    } catch (err) {
      throw ioError(err, this.dir, 'create');
    }
  }

  private async index(): Promise<ImageIndex> {
    await this.ensure();
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.dir, 'index.json'));
    } catch (err) {
      throw ioError(err, join(this.dir, 'index.json'));
    }
    return parseIndex(bytes, join(this.dir, 'index.json'));
  }

  private async writeIndex(index: ImageIndex): Promise<void> {
    await writeAtomic(join(this.dir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  }

  async hasBlob(digest: string): Promise<boolean> {
    await this.ensure();
    try {
      return (await lstat(this.blobPath(digest))).isFile();
    } catch {
      return false;
    }
  }

  async pushBlob(desc: Descriptor, options: PushBlobOptions): Promise<BlobOutcome> {
    if (await this.hasBlob(desc.digest)) return 'exists';
    await this.writeBlob(desc, options.open(0, desc.size), options.signal, options.onProgress);
    return 'uploaded';
  }

  /** Writes a blob through a temp file, checking its digest and size before it gets its name. */
  private async writeBlob(desc: Descriptor, source: Readable, signal?: AbortSignal, onProgress?: (n: number, total: number) => void): Promise<void> {
    const target = this.blobPath(desc.digest);
    const temp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    const hash = createHash('sha256');
    let n = 0;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            n += chunk.length;
            hash.update(chunk);
            onProgress?.(n, desc.size);
            yield chunk;
          }
        },
        createWriteStream(temp, { mode: 0o644 }),
        { signal },
      );
      const digest = `sha256:${hash.digest('hex')}`;
      if (digest !== desc.digest || n !== desc.size) throw new IoError(`the bytes written for ${desc.digest} hash to ${digest} (${n} bytes)`, 'the source changed while it was copied: try again');
      await chmod(temp, 0o444);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async getBlob(desc: Descriptor): Promise<Readable> {
    const path = this.blobPath(desc.digest);
    try {
      if (!(await lstat(path)).isFile()) throw new RefusedError(`${path} is not a regular file`);
    } catch (err) {
      if (err instanceof RefusedError) throw err;
      throw new RefusedError(`${this.display} does not hold blob ${desc.digest}`, 'copy the whole folder again');
    }
    return createReadStream(path);
  }

  private async putBytes(bytes: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (!(await this.hasBlob(digest))) {
      await this.writeBlob({ mediaType: 'application/octet-stream', digest, size: bytes.length }, Readable.from([bytes]));
    }
    return digest;
  }

  async putManifest(bytes: Buffer, mediaType: string, tag?: string): Promise<string> {
    const digest = await this.putBytes(bytes);
    const index = await this.index();
    // A tag names one manifest: the previous holder of the tag loses it.
    index.manifests = index.manifests.filter((d) => !(tag && d.annotations?.[REF_NAME] === tag) && !(d.digest === digest && !d.annotations?.[REF_NAME] && tag));
    if (!index.manifests.some((d) => d.digest === digest && (d.annotations?.[REF_NAME] ?? undefined) === tag)) {
      index.manifests.push({ mediaType, digest, size: bytes.length, ...(tag ? { annotations: { [REF_NAME]: tag } } : {}) });
    }
    await this.writeIndex(index);
    return digest;
  }

  async getManifest(reference: string): Promise<FetchedManifest> {
    const index = await this.index();
    let desc: Descriptor | undefined;
    if (DIGEST.test(reference)) desc = index.manifests.find((d) => d.digest === reference) ?? { mediaType: '', digest: reference, size: -1 };
    else {
      const tagged = index.manifests.filter((d) => d.annotations?.[REF_NAME] === reference);
      desc = tagged[0];
      if (!desc) {
        const tags = index.manifests.map((d) => d.annotations?.[REF_NAME]).filter(Boolean);
        throw new IoError(`${this.display} has no manifest tagged "${reference}"`, tags.length ? `tags in this folder: ${tags.join(', ')}` : 'the folder lists no tagged manifest');
      }
    }
    let bytes: Buffer;
    try {
      const path = this.blobPath(desc.digest);
      const st = await lstat(path);
      if (!st.isFile() || st.size > MAX_MANIFEST_BYTES) throw new RefusedError(`${path} is not a manifest (not a regular file, or over ${MAX_MANIFEST_BYTES} bytes)`);
      bytes = await readFile(path);
    } catch (err) {
      if (err instanceof RefusedError) throw err;
      throw new IoError(`${this.display} does not hold manifest ${desc.digest}`, 'copy the whole folder again');
    }
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (digest !== desc.digest) throw new RefusedError(`${this.display}: manifest ${desc.digest} hashes to ${digest}: the folder was changed`, 'do not trust this copy: write it again from the source');
    let mediaType = desc.mediaType;
    if (!mediaType) {
      try {
        mediaType = String((JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType ?? '');
      } catch {
        mediaType = '';
      }
    }
    return { bytes, digest, mediaType };
  }

  async putReferrer(bytes: Buffer, mediaType: string, artifactType: string, _subject: Descriptor, annotations?: Record<string, string>): Promise<string> {
    const digest = await this.putBytes(bytes);
    const index = await this.index();
    if (!index.manifests.some((d) => d.digest === digest)) {
      index.manifests.push({ mediaType, digest, size: bytes.length, artifactType, ...(annotations ? { annotations } : {}) });
      await this.writeIndex(index);
    }
    return digest;
  }

  async listTags(): Promise<string[]> {
    try {
      await stat(join(this.dir, 'oci-layout'));
    } catch {
      return [];
    }
    return [...new Set((await this.index()).manifests.map((d) => d.annotations?.[REF_NAME]).filter((t): t is string => !!t))];
  }

  async referrers(digest: string): Promise<Descriptor[]> {
    const index = await this.index();
    const out: Descriptor[] = [];
    for (const d of index.manifests) {
      if (d.digest === digest) continue;
      try {
        const m = JSON.parse((await this.getManifest(d.digest)).bytes.toString('utf8')) as { subject?: Descriptor; artifactType?: string; config?: Descriptor; annotations?: Record<string, string> };
        if (m.subject?.digest === digest) out.push({ mediaType: d.mediaType, digest: d.digest, size: d.size, artifactType: m.artifactType ?? m.config?.mediaType, ...(m.annotations ? { annotations: m.annotations } : {}) });
      } catch {
        // not a manifest we can read: not a referrer
      }
    }
    // A copy of a registry's tag-schema index (`skopeo copy --all docker://R/REPO:sha256-HEX oci:DIR:sha256-HEX`).
    const fallback = index.manifests.find((d) => d.annotations?.[REF_NAME] === `sha256-${hexOf(digest)}`);
    if (fallback) {
      const listed = parseIndex((await this.getManifest(fallback.digest)).bytes, `${this.display}:sha256-${hexOf(digest)}`);
      for (const d of listed.manifests) if (!out.some((o) => o.digest === d.digest)) out.push(d);
    }
    return out;
  }
}
