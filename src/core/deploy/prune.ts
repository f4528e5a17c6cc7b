import { connectDocker, type Docker } from './engine';
import { LABEL, managedFilter } from './labels';

/*
 * Images this product builds pile up: a new app image for every change of the runtime (content-hashed),
 * a model image per version deployed with --copy, a new base image when the host's Node or native
 * libraries change. Pruning removes the ones no container uses (running or stopped: a stopped previous
 * version is what `deploy rollback` starts again). The newest base and app images stay unless `all` is
 * asked for, so the next deploy does not pay a rebuild (~30 s). Images of other tools are never touched:
 * only those carrying the `sovereign.managed` label.
 */

export type ImageKind = 'base-image' | 'app-image' | 'policy-image' | 'model-image' | 'other';

export interface PrunedImage {
  id: string;
  tags: string[];
  kind: ImageKind;
  /** Its own layers: the size minus its parent's (a model image shares everything but the model with its app image). */
  sizeBytes: number;
  created: string;
}

export interface KeptImage extends PrunedImage {
  /** Why it stays: the containers that use it, "newest base image", or the engine's refusal. */
  reason: string;
}

export interface PruneResult {
  dryRun: boolean;
  removed: PrunedImage[];
  kept: KeptImage[];
  /** Sum of the removed images' own layers. */
  reclaimableBytes: number;
}

interface ImageInfo {
  Id: string;
  RepoTags?: string[] | null;
  Labels?: Record<string, string> | null;
  Size: number;
  Created: number;
  ParentId?: string;
}

/** Children before parents: a model image is built FROM a policy image FROM an app image, which the engine cannot remove first. */
const REMOVAL_ORDER: Record<ImageKind, number> = { 'model-image': 0, 'policy-image': 1, other: 2, 'app-image': 3, 'base-image': 4 };

export async function pruneImages(o: { docker?: Docker; dryRun?: boolean; all?: boolean } = {}): Promise<PruneResult> {
  const docker = o.docker ?? (await connectDocker());
  const [images, everything, containers] = await Promise.all([
    docker.listImages({ filters: managedFilter() }) as Promise<ImageInfo[]>,
    // With the intermediate layers: parents are followed through them.
    docker.listImages({ all: true }) as Promise<ImageInfo[]>,
    docker.listContainers({ all: true }) as Promise<Array<{ ImageID: string; Names: string[] }>>,
  ]);
  const byId = new Map(everything.map((i) => [i.Id, i]));
  const managedIds = new Set(images.map((i) => i.Id));
  /** The nearest ancestor that is itself a managed image (a model image's app image, an app image's base). */
  const managedParent = (i: ImageInfo): ImageInfo | undefined => {
    for (let cur = i.ParentId ? byId.get(i.ParentId) : undefined; cur; cur = cur.ParentId ? byId.get(cur.ParentId) : undefined) {
      if (managedIds.has(cur.Id)) return cur;
    }
    return undefined;
  };
  const users = new Map<string, string[]>();
  for (const c of containers) users.set(c.ImageID, [...(users.get(c.ImageID) ?? []), c.Names[0]?.replace(/^\//, '') ?? c.ImageID.slice(7, 19)]);

  const newest = new Map<ImageKind, string>();
  if (!o.all) {
    for (const kind of ['base-image', 'app-image'] as const) {
      const latest = images.filter((i) => kindOf(i) === kind).sort((a, b) => b.Created - a.Created)[0];
      if (latest) newest.set(kind, latest.Id);
    }
  }
  // An image in use keeps its ancestors too (removing them would only untag them).
  const inUse = new Set<string>();
  for (const i of images) {
    if (!users.has(i.Id)) continue;
    for (let cur = managedParent(i); cur && !inUse.has(cur.Id); cur = managedParent(cur)) inUse.add(cur.Id);
  }

  const result: PruneResult = { dryRun: !!o.dryRun, removed: [], kept: [], reclaimableBytes: 0 };
  const candidates: PrunedImage[] = [];
  for (const i of images) {
    const parent = managedParent(i);
    const image = describe(i, parent ? Math.max(0, i.Size - parent.Size) : i.Size);
    const using = users.get(i.Id);
    if (using) result.kept.push({ ...image, reason: `used by ${using.join(', ')}` });
    else if (inUse.has(i.Id)) result.kept.push({ ...image, reason: 'parent of an image in use' });
    else if (newest.get(image.kind as 'base-image' | 'app-image') === i.Id) result.kept.push({ ...image, reason: `newest ${image.kind.replace('-image', '')} image (the next deploy reuses it; --all removes it)` });
    else candidates.push(image);
  }
  candidates.sort((a, b) => REMOVAL_ORDER[a.kind] - REMOVAL_ORDER[b.kind]);
  for (const image of candidates) {
    if (!o.dryRun) {
      try {
        // No force: an image the engine still needs (a container created meanwhile) is refused, not broken.
        await docker.getImage(image.id).remove();
      } catch (err) {
        result.kept.push({ ...image, reason: `the engine refused: ${firstLine((err as Error).message)}` });
        continue;
      }
    }
    result.removed.push(image);
    result.reclaimableBytes += image.sizeBytes;
  }
  return result;
}

function kindOf(i: ImageInfo): ImageKind {
  const kind = i.Labels?.[LABEL.kind];
  return kind === 'base-image' || kind === 'app-image' || kind === 'policy-image' || kind === 'model-image' ? kind : 'other';
}

function describe(i: ImageInfo, ownBytes: number): PrunedImage {
  return {
    id: i.Id,
    tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    kind: kindOf(i),
    sizeBytes: ownBytes,
    created: new Date(i.Created * 1000).toISOString(),
  };
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 200);
}
