import { readAudit } from '../audit/log';

/** Where a version was published: one `sovereign push` (from the workspace's audit log). */
export interface Publication {
  /** oci://HOST/REPO:TAG or oci:DIR:TAG */
  target: string;
  /** The model manifest's digest there. */
  digest: string;
  time: string;
  signed: boolean;
  /** Digests of the referrers (signature bundle, scan report). */
  referrers: string[];
}

/**
 * NAME@VERSION -> its publications, newest first, one per target (a re-push to the same target replaces the
 * older line). Read from the `push` entries of the audit log, which `pushVersion` appends after the registry
 * accepted the manifest.
 */
export async function publishedVersions(root: string): Promise<Map<string, Publication[]>> {
  const out = new Map<string, Publication[]>();
  for (const e of (await readAudit(root, { action: 'push' })).reverse()) {
    const d = (e.details ?? {}) as { target?: unknown; digest?: unknown; signed?: unknown; referrers?: unknown };
    if (typeof e.subject !== 'string' || typeof d.target !== 'string' || typeof d.digest !== 'string') continue;
    const list = out.get(e.subject) ?? [];
    if (list.some((p) => p.target === d.target)) continue;
    list.push({ target: d.target, digest: d.digest, time: e.time, signed: d.signed === true, referrers: Array.isArray(d.referrers) ? d.referrers.filter((r): r is string => typeof r === 'string') : [] });
    out.set(e.subject, list);
  }
  return out;
}
