import { ensureAppImage, ensureModelImage, ensurePolicyImage, modelPathInContainer } from './app-image';
import { ensureBaseImage, inspectImage } from './base-image';
import type { FileFactCache } from './digest-cache';
import type { Docker } from './engine';
import type { ModelMode } from './labels';
import type { DeployableModel } from './model-ref';
import { productRoot } from './product-root';
import { collectRuntimeFiles, nativeLibraries } from './runtime-files';
import { SovereignError } from '../util/errors';

export interface PreparedImages {
  /** The image the model container runs (app image, or the model image with --copy). */
  image: string;
  /** The image the gateway runs (the base: node only). */
  gatewayImage: string;
  modelPath: string;
  /** Every image was already there. */
  reused: boolean;
  ms: number;
}

/**
 * Base (host node + libs, or a configured image), app (runtime, content-hashed), policy (the workspace
 * policy.yaml on the app image) and, with --copy, model images: each built only when missing.
 */
export async function prepareImages(
  docker: Docker,
  o: { model: DeployableModel; mode: ModelMode; baseImage?: string; cache: FileFactCache; log?: (line: string) => void },
): Promise<PreparedImages> {
  const started = performance.now();
  const root = productRoot();
  const runtime = await collectRuntimeFiles(root);
  let baseTag: string;
  let reused = true;
  if (o.baseImage) {
    if (!(await inspectImage(docker, o.baseImage))) {
      throw new SovereignError(`the base image ${o.baseImage} is not in the local engine`, 'pull or load it first (e.g. from your registry mirror), or leave --base-image out to build one from this host');
    }
    baseTag = o.baseImage;
  } else {
    const base = await ensureBaseImage(docker, { nativeLibraries: nativeLibraries(runtime).map((f) => f.abs), cache: o.cache, log: o.log });
    baseTag = base.tag;
    reused &&= base.reused;
  }
  const app = await ensureAppImage(docker, { repoRoot: root, runtime, baseImage: baseTag, cache: o.cache, log: o.log });
  reused &&= app.reused;
  // The policy the version was checked against, in the image: the runtime applies it again before loading.
  const withPolicy = await ensurePolicyImage(docker, { appImage: app.tag, appImageId: app.id, policy: o.model.policy, driftBaseline: o.model.driftBaseline, driftPrompts: o.model.driftPrompts, log: o.log });
  reused &&= withPolicy.reused;
  let image = withPolicy.tag;
  if (o.mode === 'copy') {
    const withModel = await ensureModelImage(docker, { appImage: withPolicy.tag, appImageId: withPolicy.id, modelFile: o.model.file, sha256: o.model.sha256, format: o.model.format, log: o.log });
    reused &&= withModel.reused;
    image = withModel.tag;
  }
  await o.cache.save();
  return { image, gatewayImage: baseTag, modelPath: modelPathInContainer(o.model.format), reused, ms: performance.now() - started };
}
