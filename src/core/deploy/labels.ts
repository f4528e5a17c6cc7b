/**
 * Labels are the deployment's only state: what runs is read back from the engine, so there is nothing
 * beside it that could drift. Docker labels are immutable per container; what changes over time (which
 * version serves) is the container NAME (`sov-NAME-live`, `sov-NAME-canary`), also engine state.
 */
export const LABEL = {
  /** Marks every object this product created, for listing and clean-up. */
  managed: 'sovereign.managed',
  /** app | gateway | network | image */
  kind: 'sovereign.kind',
  model: 'sovereign.model',
  version: 'sovereign.version',
  sha256: 'sovereign.sha256',
  format: 'sovereign.format',
  /** The git commit that last touched the manifest file: which reviewed manifest this deployment serves. */
  manifestCommit: 'sovereign.manifest-commit',
  /** stable | canary: the role the container was CREATED for (labels cannot change afterwards). */
  role: 'sovereign.role',
  image: 'sovereign.image',
  created: 'sovereign.created',
  /** mount (read-only bind of the store object) | copy (model in an image layer). */
  modelMode: 'sovereign.model-mode',
  /** On a gateway: the container name it forwards to (`sov-NAME-live`). */
  target: 'sovereign.target',
  /** sha256 of the policy.yaml shipped in the image and applied by the runtime (images and app containers). */
  policySha256: 'sovereign.policy-sha256',
  /** On images: the content hash the tag was derived from. */
  contentHash: 'sovereign.content-hash',
} as const;

export type DeployRole = 'stable' | 'canary';
export type ModelMode = 'mount' | 'copy';

export function managedFilter(model?: string, kind?: string): { label: string[] } {
  const label = [`${LABEL.managed}=true`];
  if (model !== undefined) label.push(`${LABEL.model}=${model}`);
  if (kind !== undefined) label.push(`${LABEL.kind}=${kind}`);
  return { label };
}
