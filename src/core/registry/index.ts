/** The model registry: git-tracked manifests, content-addressed store, lineage, registry signatures. */
export { findWorkspaceRoot, resolveStoreRoot, manifestRelPath, signatureRelPath, aliasesRelPath, MODELS_DIR, POLICY_FILE, AUDIT_FILE } from '../workspace/workspace';
export { parseManifest, serializeManifest, parseModelRef, DERIVATIONS, type ModelManifest, type ManifestArtifact, type ManifestParent, type ManifestDataset, type ManifestScan, type ManifestSignature, type Derivation } from './manifest';
export { loadRegistry, Registry, type RegistryEntry } from './read';
export { ContentStore, type PutResult, type ObjectStatus } from './store';
export { buildLineageGraph, walkLineage, lineageOf, whichUsed, type LineageGraph, type LineageNode, type LineageEdge, type LineageReport, type DatasetUsage } from './lineage';
export { checkVersionSignature, signVersion, type VersionSignatureStatus } from './signature';
export { formatProblem, type YamlProblem } from '../workspace/yaml-file';
