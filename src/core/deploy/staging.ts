import { auditDeploy } from './audit';
import { removeContainer } from './containers';
import { FileFactCache } from './digest-cache';
import { listDeployments } from './deployments';
import { connectDocker } from './engine';
import { prepareImages } from './images';
import type { ResourceLimits } from './isolation';
import type { ModelMode } from './labels';
import { resolveDeployableModel } from './model-ref';
import { appContainerName, liveContainerName } from './names';
import { checkExistingNetworks } from './network';
import { startVersion } from './start-version';
import { switchTraffic } from './traffic';

export interface StagingOptions {
  /** Workspace root (registry, audit log). */
  root: string;
  /** NAME, NAME@VERSION or NAME@ALIAS. */
  ref: string;
  /** mount (default): the store object bind-mounted read-only; copy: the model in an image layer. */
  mode?: ModelMode;
  /** A base image with node (e.g. from a registry mirror); default: sovereign-base built from this host. */
  baseImage?: string;
  limits?: Partial<ResourceLimits>;
  serveArgs?: string[];
  readyTimeoutMs?: number;
  /** Stopped earlier versions kept for `rollback`, beyond the one warm standby (default 2). */
  keepPrevious?: number;
  log?: (line: string) => void;
  /** Stops between steps (before the images, before the container starts, before traffic switches to it). */
  signal?: AbortSignal;
}

/** Cold-start anatomy of one deployment, in milliseconds. */
export interface ColdStart {
  /** Base/app/model images built or found (0-ish when reused). */
  imageBuildMs: number;
  /** Container create + start (the engine's part). */
  containerStartMs: number;
  /** The runtime's model load as it reports it, else start-to-ready. */
  modelLoadMs: number;
  /** From container start to the first 200 on /health. */
  readyMs: number;
  /** A one-token greedy completion (GGUF; null for ONNX). */
  firstTokenMs: number | null;
  /** Pointing the 127.0.0.1 gateway at the new version. */
  gatewayMs: number;
  totalMs: number;
}

export interface StagingResult {
  url: string;
  directUrl: string;
  container: string;
  image: string;
  imageReused: boolean;
  model: string;
  version: string;
  sha256: string;
  format: string;
  manifestCommit: string;
  /** sha256 of the workspace policy the version was checked against, shipped in the image and applied there. */
  policySha256: string;
  modelMode: ModelMode;
  role: 'stable';
  /** The version that served before (kept running as a warm standby for rollback). */
  previous?: string;
  timings: ColdStart;
  auditError?: string;
}

/**
 * `sovereign deploy staging`: images (reused when unchanged), the version's container on its internal
 * network, readiness, then it becomes the model's live version behind the 127.0.0.1 gateway. The version
 * that served before keeps running as a warm standby, so `rollback` is a rename.
 */
export async function deployStaging(o: StagingOptions): Promise<StagingResult> {
  const started = performance.now();
  const docker = await connectDocker();
  const cache = await FileFactCache.open();
  const model = await resolveDeployableModel(o.root, o.ref, cache);
  const mode = o.mode ?? 'mount';
  await checkExistingNetworks(docker, model.name);
  o.signal?.throwIfAborted();
  const images = await prepareImages(docker, { model, mode, baseImage: o.baseImage, cache, log: o.log });

  const before = await listDeployments({ docker, model: model.name });
  // Deploying a version again replaces its (non-live) container: new image or settings. A live copy of
  // the same version keeps serving until the new one takes over, then it is removed.
  for (const d of before) if (d.version === model.version && d.role !== 'stable') await removeContainer(docker, d.containerId);
  const sameLive = before.find((d) => d.version === model.version && d.role === 'stable');
  const current = before.find((d) => d.role === 'stable');
  const startName = sameLive ? `${appContainerName(model.name, model.version)}-next` : appContainerName(model.name, model.version);

  o.signal?.throwIfAborted();
  const v = await startVersion(docker, { name: startName, model, image: images.image, modelPath: images.modelPath, role: 'stable', mode, limits: o.limits, serveArgs: o.serveArgs, readyTimeoutMs: o.readyTimeoutMs, root: o.root });
  let sw;
  try {
    o.signal?.throwIfAborted();
    sw = await switchTraffic(docker, { model: model.name, containerId: v.containerId, gatewayImage: images.gatewayImage, root: o.root });
  } catch (err) {
    await removeContainer(docker, v.containerId);
    throw err;
  }
  if (sameLive) await removeContainer(docker, sameLive.containerId);
  await prunePrevious(o.keepPrevious ?? 2, model.name);

  const timings: ColdStart = {
    imageBuildMs: Math.round(images.ms),
    containerStartMs: Math.round(v.timings.containerStartMs),
    modelLoadMs: Math.round(v.timings.modelLoadMs),
    readyMs: Math.round(v.timings.readyMs),
    firstTokenMs: v.timings.firstTokenMs === null ? null : Math.round(v.timings.firstTokenMs),
    gatewayMs: Math.round(sw.ms),
    totalMs: Math.round(performance.now() - started),
  };
  const result: StagingResult = {
    url: sw.url,
    directUrl: v.directUrl,
    container: liveContainerName(model.name),
    image: images.image,
    imageReused: images.reused,
    model: model.name,
    version: model.version,
    sha256: model.sha256,
    format: model.format,
    manifestCommit: model.manifestCommit,
    policySha256: model.policy.sha256,
    modelMode: mode,
    role: 'stable',
    previous: current && current.version !== model.version ? current.version : undefined,
    timings,
  };
  result.auditError = await auditDeploy(o.root, 'deploy', `${model.name}@${model.version}`, {
    digest: model.sha256,
    image: images.image,
    container: liveContainerName(model.name),
    url: sw.url,
    manifestCommit: model.manifestCommit,
    modelMode: mode,
    previous: current && current.version !== model.version ? current.version : null,
    isolation: 'internal network, 127.0.0.1 gateway, non-root, read-only rootfs, no-new-privileges, cap-drop ALL, limits',
    policy: { file: model.policy.exists ? model.policy.file : 'default', sha256: model.policy.sha256 },
    timings,
  });
  return result;

  async function prunePrevious(keep: number, name: string): Promise<void> {
    const stopped = (await listDeployments({ docker, model: name })).filter((d) => !d.running && d.role === 'previous');
    stopped.sort((a, b) => ((b.finishedAt ?? '') < (a.finishedAt ?? '') ? -1 : 1));
    for (const d of stopped.slice(keep)) await removeContainer(docker, d.containerId);
  }
}
