/** OCI image and distribution vocabulary (image-spec 1.1, distribution-spec 1.1). */

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
/** The empty JSON object `{}` every artifact without a config points at. */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';
/** Tag under which an image layout or a registry without the referrers API lists a manifest's referrers. */
export const REF_NAME = 'org.opencontainers.image.ref.name';

export const DIGEST = /^sha256:[0-9a-f]{64}$/;
/** distribution-spec: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` */
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
/** distribution-spec repository name components. */
export const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** The largest manifest or index we read (the spec suggests registries accept at least 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** A manifest as fetched: its exact bytes (what its digest covers), media type and digest. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

/** Checks a parsed descriptor's shape (untrusted input: a registry or a folder wrote it). */
export function isDescriptor(d: unknown): d is Descriptor {
  const o = d as Descriptor;
  return !!o && typeof o === 'object' && typeof o.mediaType === 'string' && typeof o.digest === 'string' && DIGEST.test(o.digest) && Number.isSafeInteger(o.size) && o.size >= 0;
}
