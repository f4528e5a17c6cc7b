import { createHash } from 'node:crypto';
import type { ManifestArtifact, ModelManifest } from '../registry/manifest';
import { EMPTY_DIGEST, EMPTY_JSON, OCI_EMPTY, OCI_MANIFEST, type Descriptor, type ImageManifest } from '../oci/types';

/**
 * How a registered version is laid out as an OCI artifact, following the CNCF ModelPack specification
 * (github.com/modelpack/model-spec, v1): artifactType `application/vnd.cncf.model.manifest.v1+json`, a
 * ModelPack config (`application/vnd.cncf.model.config.v1+json`), one raw layer per manifest artifact
 * (its digest IS the registry manifest's sha256, its path in `org.cncf.model.filepath`), and the project's
 * own manifest (the signed YAML, byte for byte) as one more annotated layer.
 */
export const MODEL_ARTIFACT_TYPE = 'application/vnd.cncf.model.manifest.v1+json';
export const MODEL_CONFIG = 'application/vnd.cncf.model.config.v1+json';
export const MEDIA_WEIGHT_RAW = 'application/vnd.cncf.model.weight.v1.raw';
export const MEDIA_WEIGHT_CONFIG_RAW = 'application/vnd.cncf.model.weight.config.v1.raw';
export const MEDIA_DOC_RAW = 'application/vnd.cncf.model.doc.v1.raw';
export const MEDIA_CODE_RAW = 'application/vnd.cncf.model.code.v1.raw';
/** The registry manifest (`.sovereign/models/NAME/VERSION.yaml`), the bytes its signature covers. */
export const SOVEREIGN_MANIFEST = 'application/vnd.sovereign.model.manifest.v1+yaml';
export const SARIF_ARTIFACT_TYPE = 'application/sarif+json';

export const ANNOTATION_FILEPATH = 'org.cncf.model.filepath';
export const ANNOTATION_TITLE = 'org.opencontainers.image.title';
export const ANNOTATION_VERSION = 'org.opencontainers.image.version';
export const ANNOTATION_CREATED = 'org.opencontainers.image.created';
export const ANNOTATION_LICENSES = 'org.opencontainers.image.licenses';
export const ANNOTATION_MODEL = 'dev.sovereign.model';
export const ANNOTATION_KEY_ID = 'dev.sovereign.signature.key-id';

export const EMPTY_CONFIG: Descriptor = { mediaType: OCI_EMPTY, digest: EMPTY_DIGEST, size: EMPTY_JSON.length };

const WEIGHT_FORMATS = new Set(['gguf', 'onnx', 'safetensors', 'pickle', 'pytorch-zip', 'joblib', 'numpy', 'npz', 'hdf5', 'keras']);

/** The ModelPack media type of one artifact file. */
export function layerMediaType(a: ManifestArtifact): string {
  const base = a.path.split('/').pop()!.toLowerCase();
  if (a.format && WEIGHT_FORMATS.has(a.format)) return MEDIA_WEIGHT_RAW;
  if (/\.(md|txt|rst)$/.test(base) || /^(license|licence|notice|readme)/.test(base)) return MEDIA_DOC_RAW;
  if (/\.(py|sh|js|ts)$/.test(base)) return MEDIA_CODE_RAW;
  if (/\.(json|yaml|yml|model|vocab|tiktoken|merges)$/.test(base) || /tokenizer/.test(base)) return MEDIA_WEIGHT_CONFIG_RAW;
  return MEDIA_WEIGHT_RAW;
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** "6.7B"-style parameter size of the ModelPack config. */
function paramSize(n: number | undefined): string | undefined {
  if (n === undefined || !Number.isFinite(n) || n <= 0) return undefined;
  for (const [scale, letter] of [[1e15, 'Q'], [1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']] as const) {
    if (n >= scale) return `${(n / scale).toFixed(1).replace(/\.0$/, '')}${letter}`;
  }
  return String(n);
}

export interface ModelArtifact {
  config: { bytes: Buffer; descriptor: Descriptor };
  manifestLayer: { bytes: Buffer; descriptor: Descriptor };
  /** One per manifest artifact, in manifest order. */
  layers: { artifact: ManifestArtifact; descriptor: Descriptor }[];
  manifest: { bytes: Buffer; descriptor: Descriptor };
}

/** Builds the OCI manifest and config of a registered version (`manifestText` is its file, byte for byte). */
export function packageVersion(m: ModelManifest, manifestRel: string, manifestText: Buffer): ModelArtifact {
  const layers = m.artifacts.map((a) => ({
    artifact: a,
    descriptor: { mediaType: layerMediaType(a), digest: `sha256:${a.sha256}`, size: a.size, annotations: { [ANNOTATION_FILEPATH]: a.path, [ANNOTATION_TITLE]: a.path } },
  }));
  const manifestLayer = {
    bytes: manifestText,
    descriptor: { mediaType: SOVEREIGN_MANIFEST, digest: digestOf(manifestText), size: manifestText.length, annotations: { [ANNOTATION_FILEPATH]: manifestRel, [ANNOTATION_TITLE]: manifestRel } },
  };
  const config = {
    descriptor: stripUndefined({
      createdAt: m.created,
      authors: m.authors,
      name: m.name,
      version: m.version,
      description: m.description,
      sourceURL: m.source?.uri,
      revision: m.source?.revision,
      licenses: m.license ? [m.license] : undefined,
    }),
    config: stripUndefined({ format: m.format, paramSize: paramSize(m.parameter_count) }),
    // Raw (untarred) layers: the content hash is the layer digest.
    modelfs: { type: 'layers', diff_ids: [...layers.map((l) => l.descriptor.digest), manifestLayer.descriptor.digest] },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDesc: Descriptor = { mediaType: MODEL_CONFIG, digest: digestOf(configBytes), size: configBytes.length };
  const image: ImageManifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: MODEL_ARTIFACT_TYPE,
    config: configDesc,
    layers: [...layers.map((l) => l.descriptor), manifestLayer.descriptor],
    annotations: stripUndefined({
      [ANNOTATION_TITLE]: m.name,
      [ANNOTATION_VERSION]: m.version,
      [ANNOTATION_CREATED]: m.created,
      [ANNOTATION_LICENSES]: m.license,
      [ANNOTATION_MODEL]: `${m.name}@${m.version}`,
    }) as Record<string, string>,
  };
  const bytes = Buffer.from(JSON.stringify(image));
  return {
    config: { bytes: configBytes, descriptor: configDesc },
    manifestLayer,
    layers,
    manifest: { bytes, descriptor: { mediaType: OCI_MANIFEST, digest: digestOf(bytes), size: bytes.length } },
  };
}

/** A referrer manifest: one layer (the attached document), the empty config, `subject` = the model. */
export function referrerManifest(artifactType: string, layer: Descriptor, subject: Descriptor, annotations: Record<string, string>): Buffer {
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType, config: EMPTY_CONFIG, layers: [layer], subject, annotations };
  return Buffer.from(JSON.stringify(manifest));
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
