import { LayoutTarget } from './layout';
import type { OciReference } from './reference';
import { RegistryClient, type RegistryClientOptions } from './registry-client';
import type { OciTarget } from './target';

export { parseOciReference, formatOciReference, type OciReference } from './reference';
export { RegistryClient, type RegistryClientOptions } from './registry-client';
export { LayoutTarget } from './layout';
export type { OciTarget, BlobOutcome, PushBlobOptions } from './target';
export { dockerCredentials, dockerConfigPath, parseChallenge, type Credentials } from './auth';
export * from './types';

/** The client for a reference: a registry repository, or an image layout folder (created on push). */
export function openTarget(ref: OciReference, options: RegistryClientOptions): OciTarget {
  return ref.kind === 'registry' ? new RegistryClient(ref.host, ref.repository, options) : new LayoutTarget(ref.dir, options.access === 'push');
}
