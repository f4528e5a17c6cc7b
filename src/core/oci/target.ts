import type { Readable } from 'node:stream';
import type { Descriptor, FetchedManifest } from './types';

/** What was done with a blob on push. */
export type BlobOutcome = 'exists' | 'mounted' | 'uploaded';

export interface PushBlobOptions {
  /** Opens the blob's bytes from `start` to `end` (exclusive): one chunk; a resumed upload reads the rest only. */
  open: (start: number, end: number) => Readable;
  /** Other repositories of the same registry that may hold the blob (cross-repository mount). */
  mountFrom?: readonly string[];
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

/** A place artifacts are pushed to and pulled from: a registry repository or an OCI image layout folder. */
export interface OciTarget {
  /** For messages: oci://host/repo or oci:DIR. */
  readonly display: string;
  hasBlob(digest: string, signal?: AbortSignal): Promise<boolean>;
  pushBlob(desc: Descriptor, options: PushBlobOptions): Promise<BlobOutcome>;
  /** The blob's bytes as a stream (the caller verifies digest and size). */
  getBlob(desc: Descriptor, signal?: AbortSignal): Promise<Readable>;
  /** Stores a manifest under its digest and, with `tag`, under that tag. Returns the digest. */
  putManifest(bytes: Buffer, mediaType: string, tag?: string, signal?: AbortSignal): Promise<string>;
  /** By tag or digest; the digest of the bytes is checked against a requested digest. */
  getManifest(reference: string, signal?: AbortSignal): Promise<FetchedManifest>;
  /** Attaches a referrer manifest (its `subject` set) so `referrers(subject)` lists it. */
  putReferrer(bytes: Buffer, mediaType: string, artifactType: string, subject: Descriptor, annotations?: Record<string, string>, signal?: AbortSignal): Promise<string>;
  /** The manifests whose subject is `digest` (referrers API, else the `sha256-HEX` tag schema). */
  referrers(digest: string, signal?: AbortSignal): Promise<Descriptor[]>;
  /** The tags of the repository (or of the layout folder). */
  listTags(signal?: AbortSignal): Promise<string[]>;
  close(): void;
}
