import { resolve } from 'node:path';
import { UsageError } from '../util/errors';
import { DIGEST, REPOSITORY, TAG } from './types';

/** Where an artifact lives: a repository of an OCI registry, or an OCI image layout folder. */
export type OciReference =
  | { kind: 'registry'; host: string; repository: string; tag?: string; digest?: string }
  | { kind: 'layout'; dir: string; tag?: string; digest?: string };

const HINT = 'write oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:HEX], or oci:FOLDER[:TAG] for an OCI image layout folder';

/**
 * Parses `oci://host[:port]/repo[/more][:tag][@sha256:hex]` (a registry) or `oci:DIR[:tag]` /
 * `oci-layout:DIR[:tag]` (an OCI image layout folder, the syntax skopeo uses for `oci:`).
 */
export function parseOciReference(text: string): OciReference {
  if (text.startsWith('oci://')) return parseRegistryRef(text.slice('oci://'.length), text);
  const layout = /^(?:oci|oci-layout):(.+)$/.exec(text);
  if (layout) return parseLayoutRef(layout[1], text);
  throw new UsageError(`"${text}" is not an OCI reference`, HINT);
}

function splitDigest(rest: string, text: string): { rest: string; digest?: string } {
  const at = rest.lastIndexOf('@');
  if (at < 0) return { rest };
  const digest = rest.slice(at + 1);
  if (!DIGEST.test(digest)) throw new UsageError(`"${text}": "${digest}" is not a sha256 digest`, 'write @sha256:<64 lowercase hex digits>');
  return { rest: rest.slice(0, at), digest };
}

function splitTag(rest: string, text: string): { rest: string; tag?: string } {
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon <= slash) return { rest };
  const tag = rest.slice(colon + 1);
  if (!TAG.test(tag)) throw new UsageError(`"${text}": "${tag}" is not a valid tag`, 'a tag is letters, digits, "_", "." or "-" (at most 128), not starting with "." or "-"');
  return { rest: rest.slice(0, colon), tag };
}

function parseRegistryRef(body: string, text: string): OciReference {
  const slash = body.indexOf('/');
  if (slash <= 0) throw new UsageError(`"${text}" names no repository`, HINT);
  const host = body.slice(0, slash);
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host)) throw new UsageError(`"${text}": "${host}" is not a host[:port]`, HINT);
  const { rest: withTag, digest } = splitDigest(body.slice(slash + 1), text);
  const { rest: repository, tag } = splitTag(withTag, text);
  if (!REPOSITORY.test(repository)) throw new UsageError(`"${text}": "${repository}" is not a valid repository name`, 'repository names are lowercase letters, digits and separators (., _, __, -), in path components separated by /');
  return { kind: 'registry', host, repository, tag, digest };
}

function parseLayoutRef(body: string, text: string): OciReference {
  const { rest: withTag, digest } = splitDigest(body, text);
  // A tag is what follows the last ':' when it is not part of a path (no '/' after it).
  const colon = withTag.lastIndexOf(':');
  let dir = withTag;
  let tag: string | undefined;
  if (colon > 0 && !withTag.slice(colon + 1).includes('/')) {
    tag = withTag.slice(colon + 1);
    dir = withTag.slice(0, colon);
    if (!TAG.test(tag)) throw new UsageError(`"${text}": "${tag}" is not a valid tag`, 'a tag is letters, digits, "_", "." or "-"');
  }
  if (!dir) throw new UsageError(`"${text}" names no folder`, HINT);
  return { kind: 'layout', dir: resolve(dir), tag, digest };
}

/** The reference as people write it. */
export function formatOciReference(ref: OciReference): string {
  const suffix = `${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  return ref.kind === 'registry' ? `oci://${ref.host}/${ref.repository}${suffix}` : `oci:${ref.dir}${suffix}`;
}
