import { createHash } from 'node:crypto';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { SovereignError } from '../util/errors';
import { APP_UID, inspectImage } from './base-image';
import type { FileFactCache } from './digest-cache';
import { followStream, type Docker } from './engine';
import { LABEL } from './labels';
import { APP_IMAGE_REPO, MODEL_IMAGE_REPO, POLICY_IMAGE_REPO, SERVE_PORT } from './names';
import type { ShippedFile } from './model-ref';
import { DRIFT_BASELINE_PATH_IN_CONTAINER, DRIFT_PROMPTS_PATH_IN_CONTAINER, POLICY_PATH_IN_CONTAINER, type ShippedPolicy } from './policy';
import type { RuntimeFileSet } from './runtime-files';

export interface ImageResult {
  tag: string;
  id: string;
  reused: boolean;
  buildMs: number;
}

/** Where the model file sits inside the container, whether bind-mounted or copied. */
export function modelPathInContainer(format: string | undefined): string {
  return `/models/model.${format === 'onnx' ? 'onnx' : 'gguf'}`;
}

function appDockerfile(baseImage: string, hash: string): string {
  // Legacy builder syntax only (BuildKit is not available on these engines); nothing runs at build time
  // (no RUN), so the build needs no network and no shell in the base image.
  return [
    `FROM ${baseImage}`,
    'COPY app /app',
    'WORKDIR /app',
    'ENV NODE_ENV=production HOME=/tmp NODE_LLAMA_CPP_SKIP_DOWNLOAD=true',
    `USER ${APP_UID}:${APP_UID}`,
    `EXPOSE ${SERVE_PORT}`,
    'ENTRYPOINT ["node", "/app/dist/cli.js", "serve"]',
    `LABEL ${LABEL.managed}="true" ${LABEL.kind}="app-image" ${LABEL.contentHash}="${hash}"`,
    '',
  ].join('\n');
}

/**
 * The application image: the runtime files layered on the base image. Tagged by a content hash of
 * everything that goes in (base image id, Dockerfile, every file's path, mode and bytes), so an unchanged
 * runtime is never rebuilt: the build is the slow part of a deployment.
 */
export async function ensureAppImage(
  docker: Docker,
  options: { repoRoot: string; runtime: RuntimeFileSet; baseImage: string; cache: FileFactCache; log?: (line: string) => void },
): Promise<ImageResult> {
  const started = Date.now();
  const base = await inspectImage(docker, options.baseImage);
  if (!base) {
    throw new SovereignError(
      `the base image ${options.baseImage} is not in the local engine (no registry is used)`,
      'leave --base-image out to build sovereign-base from this host, or `docker load` / `docker pull` the image first',
    );
  }
  const hash = await runtimeHash(options.runtime, base.Id, appDockerfile(options.baseImage, ''), options.cache);
  const tag = `${APP_IMAGE_REPO}:${hash.slice(0, 16)}`;
  const existing = await inspectImage(docker, tag);
  if (existing) return { tag, id: existing.Id, reused: true, buildMs: Date.now() - started };

  options.log?.(`building ${tag}: ${options.runtime.files.length} files, ${(options.runtime.bytes / 1e6).toFixed(0)} MB on ${options.baseImage}`);
  const ctx = await mkdtemp(join(tmpdir(), 'sovereign-build-'));
  try {
    await writeFile(join(ctx, 'Dockerfile'), appDockerfile(options.baseImage, hash));
    // The context is a tar of `Dockerfile` + `app/<repo paths>`; `app` links to the repository so the files
    // stream from where they are instead of being copied first.
    await symlink(options.repoRoot, join(ctx, 'app'));
    const entries = ['Dockerfile', ...options.runtime.dirs.map((d) => `app/${d}`), ...options.runtime.files.map((f) => `app/${f.rel}`)];
    await build(docker, ctx, entries, tag, options.log);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
  const built = await inspectImage(docker, tag);
  if (!built) throw new SovereignError(`the image ${tag} was not created`, 'see the build output above');
  return { tag, id: built.Id, reused: false, buildMs: Date.now() - started };
}

/**
 * The workspace policy as one small layer on the app image, at POLICY_PATH_IN_CONTAINER: the runtime in the
 * container gates the model with it (`sovereign serve --policy`). Tagged by the app image and the policy's
 * digest, so an unchanged policy is never rebuilt, and the big app image is shared by every policy.
 * `driftBaseline`: the version's validation baseline in the same layer, at DRIFT_BASELINE_PATH_IN_CONTAINER;
 * `driftPrompts`: a language model's baseline prompt set, at DRIFT_PROMPTS_PATH_IN_CONTAINER (their digests
 * join the tag).
 */
export async function ensurePolicyImage(
  docker: Docker,
  options: { appImage: string; appImageId: string; policy: ShippedPolicy; driftBaseline?: ShippedFile; driftPrompts?: ShippedFile; log?: (line: string) => void },
): Promise<ImageResult> {
  const started = Date.now();
  const baseline = options.driftBaseline;
  const prompts = options.driftPrompts;
  const digests = [options.policy.sha256, baseline?.sha256, prompts && `p${prompts.sha256}`].filter((d): d is string => !!d).map((d) => d.slice(0, 12));
  const tag = `${POLICY_IMAGE_REPO}:${digests.join('-')}-${options.appImageId.replace(/^sha256:/, '').slice(0, 12)}`;
  const existing = await inspectImage(docker, tag);
  if (existing) return { tag, id: existing.Id, reused: true, buildMs: Date.now() - started };
  options.log?.(`building ${tag}: the workspace policy at ${POLICY_PATH_IN_CONTAINER}${baseline ? `, the drift baseline at ${DRIFT_BASELINE_PATH_IN_CONTAINER}` : ''}${prompts ? `, the baseline prompt set at ${DRIFT_PROMPTS_PATH_IN_CONTAINER}` : ''}`);
  const ctx = await mkdtemp(join(tmpdir(), 'sovereign-build-'));
  try {
    const dockerfile = [
      `FROM ${options.appImage}`,
      `COPY policy.yaml ${POLICY_PATH_IN_CONTAINER}`,
      ...(baseline ? [`COPY drift-baseline.json ${DRIFT_BASELINE_PATH_IN_CONTAINER}`] : []),
      ...(prompts ? [`COPY drift-prompts.txt ${DRIFT_PROMPTS_PATH_IN_CONTAINER}`] : []),
      `LABEL ${LABEL.managed}="true" ${LABEL.kind}="policy-image" ${LABEL.contentHash}="${options.policy.sha256}" ${LABEL.policySha256}="${options.policy.sha256}"`,
      '',
    ].join('\n');
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    // World-readable, owned by root: the runtime user reads it and cannot change it (the root fs is read-only too).
    await writeFile(join(ctx, 'policy.yaml'), options.policy.text, { mode: 0o644 });
    if (baseline) await writeFile(join(ctx, 'drift-baseline.json'), baseline.text, { mode: 0o644 });
    if (prompts) await writeFile(join(ctx, 'drift-prompts.txt'), prompts.text, { mode: 0o644 });
    await build(docker, ctx, ['Dockerfile', 'policy.yaml', ...(baseline ? ['drift-baseline.json'] : []), ...(prompts ? ['drift-prompts.txt'] : [])], tag, options.log);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
  const built = await inspectImage(docker, tag);
  if (!built) throw new SovereignError(`the image ${tag} was not created`, 'see the build output above');
  return { tag, id: built.Id, reused: false, buildMs: Date.now() - started };
}

/** `--copy`: the model as an image layer on the policy image (a self-contained image, e.g. to export). */
export async function ensureModelImage(
  docker: Docker,
  options: { appImage: string; appImageId: string; modelFile: string; sha256: string; format?: string; log?: (line: string) => void },
): Promise<ImageResult> {
  const started = Date.now();
  const tag = `${MODEL_IMAGE_REPO}:${options.sha256.slice(0, 12)}-${options.appImageId.replace(/^sha256:/, '').slice(0, 12)}`;
  const existing = await inspectImage(docker, tag);
  if (existing) return { tag, id: existing.Id, reused: true, buildMs: Date.now() - started };
  options.log?.(`building ${tag}: the model copied into a layer`);
  const ctx = await mkdtemp(join(tmpdir(), 'sovereign-build-'));
  try {
    const dockerfile = [
      `FROM ${options.appImage}`,
      `COPY model ${modelPathInContainer(options.format)}`,
      `LABEL ${LABEL.managed}="true" ${LABEL.kind}="model-image" ${LABEL.sha256}="${options.sha256}"`,
      '',
    ].join('\n');
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    await symlink(options.modelFile, join(ctx, 'model'));
    await build(docker, ctx, ['Dockerfile', 'model'], tag, options.log);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
  const built = await inspectImage(docker, tag);
  if (!built) throw new SovereignError(`the image ${tag} was not created`, 'see the build output above');
  return { tag, id: built.Id, reused: false, buildMs: Date.now() - started };
}

async function build(docker: Docker, ctx: string, entries: string[], tag: string, log?: (line: string) => void): Promise<void> {
  // follow: symlinks are stored as the files they point to (the context links to the repository and the
  // store); noDirRecurse: exactly the listed entries, nothing the walk pruned.
  const stream = tar.c({ cwd: ctx, follow: true, noDirRecurse: true, portable: true }, entries);
  const lines: string[] = [];
  try {
    const out = await docker.buildImage(stream as unknown as NodeJS.ReadableStream, { t: tag, rm: true, forcerm: true, pull: false } as object);
    await followStream(docker, out as NodeJS.ReadableStream, (line) => {
      lines.push(line);
      log?.(`  ${line}`);
    });
  } catch (err) {
    const msg = (err as Error).message;
    const pull = /pull access denied|proxyconnect|manifest unknown|repository does not exist|dial tcp/i.test(msg);
    throw new SovereignError(
      `building ${tag} failed: ${msg}`,
      pull ? 'the base image must be in the local engine: no registry is reachable (see docs/deploy.md)' : `last build lines: ${lines.slice(-5).join(' | ') || '(none)'}`,
    );
  }
}

async function runtimeHash(runtime: RuntimeFileSet, baseId: string, dockerfile: string, cache: FileFactCache): Promise<string> {
  const h = createHash('sha256');
  h.update(`sovereign-app/1\n${baseId}\n${dockerfile}\n`);
  for (const f of runtime.files) h.update(`${f.rel}\0${f.mode.toString(8)}\0${await cache.sha256(f.abs)}\n`);
  return h.digest('hex');
}
