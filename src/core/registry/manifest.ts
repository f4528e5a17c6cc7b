import { valid as validSemver } from 'semver';
import { Document } from 'yaml';
import type { ModelFormat } from '../formats/types';
import schema from '../../../schemas/manifest.schema.json';
import { compileSchema, schemaProblems, YamlFile, type YamlProblem } from '../workspace/yaml-file';

export const DERIVATIONS = ['fine-tune', 'quantize', 'convert', 'distill', 'merge', 'other'] as const;
export type Derivation = (typeof DERIVATIONS)[number];

export interface ManifestArtifact {
  path: string;
  sha256: string;
  size: number;
  format?: ModelFormat;
}

export interface ManifestParent {
  /** NAME@VERSION of a registered model, or sha256:HEX of an artifact outside the registry. */
  ref: string;
  derivation?: Derivation;
}

export interface ManifestDataset {
  name: string;
  version?: string;
  digest?: string;
  license?: string;
  uri?: string;
}

/** Metadata taken from a model card (README.md front matter) because the registration gave none. */
export interface ManifestProvenance {
  model_card?: string;
  from_model_card?: ('license' | 'datasets' | 'base_model')[];
  base_model?: string[];
  base_model_relation?: 'adapter' | 'merge' | 'quantized' | 'finetune';
}

export interface ManifestScan {
  tool?: string;
  version?: string;
  verdict?: 'pass' | 'fail';
  worst?: 'none' | 'info' | 'low' | 'medium' | 'high' | 'critical';
  findings?: number;
  scanned_at?: string;
}

export interface ManifestSignature {
  path: string;
  key_id: string;
  signed_at?: string;
}

/** One model version: `.sovereign/models/NAME/VERSION.yaml` (schemas/manifest.schema.json). */
export interface ModelManifest {
  manifestVersion?: 1;
  name: string;
  version: string;
  description?: string;
  format?: ModelFormat;
  parameter_count?: number;
  artifacts: ManifestArtifact[];
  source?: { uri?: string; kind?: string; revision?: string };
  license?: string;
  authors?: string[];
  parents?: ManifestParent[];
  datasets?: ManifestDataset[];
  provenance?: ManifestProvenance;
  training?: { code_commit?: string; parameters?: Record<string, unknown>; libraries?: Record<string, string> };
  metrics?: Record<string, number>;
  benchmarks?: string[];
  scan?: ManifestScan;
  signature?: ManifestSignature;
  tags?: Record<string, string>;
  created?: string;
}

/** Field order in written manifests: identity first, provenance next, results last. */
const FIELD_ORDER: (keyof ModelManifest)[] = [
  'manifestVersion', 'name', 'version', 'description', 'format', 'parameter_count', 'license', 'authors', 'source',
  'artifacts', 'parents', 'datasets', 'provenance', 'training', 'metrics', 'benchmarks', 'scan', 'signature', 'tags', 'created',
];

let validator: ReturnType<typeof compileSchema> | undefined;
function validate(value: unknown): ReturnType<typeof compileSchema>['errors'] {
  validator ??= compileSchema(schema);
  return validator(value) ? null : validator.errors;
}

export interface ParsedManifest {
  manifest?: ModelManifest;
  yaml: YamlFile;
  problems: YamlProblem[];
}

/**
 * Parses and validates a manifest. `expected` (from the file's location) must agree with name and version.
 * Problems carry file:line:col and a fix; `manifest` is set only when there are none.
 */
export function parseManifest(text: string, file: string, expected?: { name: string; version: string }): ParsedManifest {
  const { yaml, problems } = YamlFile.parse(text, file);
  if (problems.length) return { yaml, problems };
  const value = yaml.value();
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    const pos = yaml.position(0);
    return { yaml, problems: [{ file, ...pos, message: 'a manifest must be a YAML mapping (key: value lines)', fix: 'start from `sovereign registry add` output or the schema', path: [] }] };
  }
  const found = schemaProblems(yaml, validate(value));
  const m = value as ModelManifest;
  if (!found.length) {
    if (!validSemver(m.version)) {
      found.push({ file, ...yaml.locate(['version']), message: `version "${m.version}" is not semantic versioning`, fix: 'use MAJOR.MINOR.PATCH, e.g. 1.0.0', path: ['version'] });
    }
    if (expected && m.name !== expected.name) {
      found.push({ file, ...yaml.locate(['name']), message: `name "${m.name}" does not match its folder "${expected.name}"`, fix: `set name: ${expected.name} or move the file`, path: ['name'] });
    }
    if (expected && m.version !== expected.version) {
      found.push({ file, ...yaml.locate(['version']), message: `version "${m.version}" does not match the file name "${expected.version}.yaml"`, fix: `set version: ${expected.version} or rename the file`, path: ['version'] });
    }
    const paths = new Set<string>();
    m.artifacts.forEach((a, i) => {
      if (paths.has(a.path)) found.push({ file, ...yaml.locate(['artifacts', i, 'path']), message: `artifact path "${a.path}" is listed twice`, fix: 'remove the duplicate entry', path: ['artifacts', i, 'path'] });
      paths.add(a.path);
    });
  }
  return found.length ? { yaml, problems: found } : { manifest: m, yaml, problems: [] };
}

/** Writes a manifest as YAML with a stable field order and a header comment naming the schema. */
export function serializeManifest(m: ModelManifest): string {
  const ordered: Record<string, unknown> = {};
  for (const key of FIELD_ORDER) if (m[key] !== undefined) ordered[key] = m[key];
  for (const [k, v] of Object.entries(m)) if (!(k in ordered) && v !== undefined) ordered[k] = v;
  const doc = new Document(ordered);
  doc.commentBefore =
    ' Sovereign model manifest (schema: schemas/manifest.schema.json).\n' +
    ' Written by `sovereign registry add`; versions are immutable: register a new version instead of editing.';
  return doc.toString({ lineWidth: 0 });
}

/** "NAME@VERSION" split, or undefined version when there is no "@". */
export function parseModelRef(ref: string): { name: string; version?: string } {
  const at = ref.lastIndexOf('@');
  return at > 0 ? { name: ref.slice(0, at), version: ref.slice(at + 1) || undefined } : { name: ref };
}
