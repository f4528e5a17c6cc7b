import { privateKeyFromPem } from '../signing/keys';
import { addModel, type AddOptions, type AddResult } from '../govern/admission';
import { buildLineageGraph, type LineageGraph } from '../registry/lineage';
import { setAlias, verifyVersion, type AliasResult, type VersionVerification } from '../govern/ops';
import { loadRegistry } from '../registry/read';
import type { YamlProblem } from '../workspace/yaml-file';
import { evaluatePolicy, type PolicyViolation, type WaivedViolation } from '../policy/evaluate';
import { verifyWorkspaceAudit as verifyAudit } from '../govern/audit-verify';
import { signRegisteredVersion, type SignVersionResult } from '../govern/sign-version';
import { publishedVersions, type Publication } from '../govern/oci-publications';

/** What the Models view, the diagnostics and the lineage view need, read in one pass off the UI thread. */
export interface RegistrySnapshot {
  root: string;
  graph: LineageGraph;
  versions: { name: string; version: string; file: string; aliases: string[]; format?: string; scan?: string; worst?: string; signed: boolean; description?: string; published?: Publication[] }[];
  violations: PolicyViolation[];
  waived: WaivedViolation[];
  problems: YamlProblem[];
  policyFile: string;
  policyExists: boolean;
  /** A policy file that does not parse: its problem, as a violation would be shown. */
  policyError?: string;
}

export async function registrySnapshot(root: string): Promise<RegistrySnapshot> {
  const registry = await loadRegistry(root);
  let violations: PolicyViolation[] = [];
  let waived: WaivedViolation[] = [];
  let policyFile = '.sovereign/policy.yaml';
  let policyExists = false;
  let policyError: string | undefined;
  try {
    const report = await evaluatePolicy(root, { registry });
    violations = report.violations;
    waived = report.waived;
    policyFile = report.policyFile;
    policyExists = report.policyExists;
  } catch (err) {
    policyError = (err as Error).message;
  }
  const published = await publishedVersions(root).catch(() => new Map<string, Publication[]>());
  return {
    root,
    graph: buildLineageGraph(registry, violations),
    versions: registry.entries.map((e) => ({
      name: e.manifest.name,
      version: e.manifest.version,
      file: e.file,
      aliases: e.aliases,
      format: e.manifest.format,
      scan: e.manifest.scan?.verdict,
      worst: e.manifest.scan?.worst,
      signed: Boolean(e.manifest.signature),
      description: e.manifest.description,
      published: published.get(`${e.manifest.name}@${e.manifest.version}`),
    })),
    violations,
    waived,
    problems: registry.problems,
    policyFile,
    policyExists,
    policyError,
  };
}

/** Registration from the extension: the private key arrives as PEM text from SecretStorage. */
export async function registerModel(
  root: string,
  options: Omit<AddOptions, 'privateKey' | 'signal' | 'onStage'> & { privateKeyPem?: string },
  onStage?: (stage: string) => void,
): Promise<Pick<AddResult, 'manifestFile' | 'signatureFile' | 'commit'> & { provenance?: AddResult['manifest']['provenance'] }> {
  const { privateKeyPem, ...rest } = options;
  // A model folder's card fills fields the user left empty: show what was taken (and card warnings) as progress.
  const stage = (name: string, detail?: string): void => onStage?.((name === 'model-card' || name === 'warning') && detail ? detail : name);
  const result = await addModel(root, { ...rest, privateKey: privateKeyPem ? privateKeyFromPem(privateKeyPem, 'the signing key') : undefined, onStage: stage });
  return { manifestFile: result.manifestFile, signatureFile: result.signatureFile, commit: result.commit, provenance: result.manifest.provenance };
}

export async function aliasVersion(root: string, ref: string, alias: string): Promise<AliasResult> {
  return setAlias(root, ref, alias);
}

export async function verifyRegistryVersion(root: string, ref: string): Promise<VersionVerification> {
  const registry = await loadRegistry(root);
  return verifyVersion(root, registry.resolve(ref));
}

export async function signVersionWithPem(root: string, ref: string, privateKeyPem: string): Promise<SignVersionResult> {
  return signRegisteredVersion(root, ref, privateKeyFromPem(privateKeyPem, 'the signing key'));
}

export { verifyAudit };
