import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tar from 'tar';
import { SovereignError } from '../util/errors';
import type { FileFactCache } from './digest-cache';
import { followStream, statusOf, type Docker } from './engine';
import { LABEL } from './labels';
import { BASE_IMAGE_REPO } from './names';

/** The unprivileged user every deployment runs as (numeric, so it works in any base image). */
export const APP_UID = 10001;

/** Where the base image puts node; PATH covers the usual places so a mirrored `node:20` image works too. */
const NODE_PATH_IN_IMAGE = '/usr/local/bin/node';
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function defaultBaseImageTag(): string {
  return `${BASE_IMAGE_REPO}:node-${process.version}`;
}

export interface BaseImageResult {
  tag: string;
  id: string;
  reused: boolean;
  /** Host files copied into the image (node and the shared libraries ldd lists). */
  files: string[];
  buildMs: number;
}

/**
 * Builds `sovereign-base:node-vX.Y.Z` WITHOUT a registry: the host's node binary plus exactly the shared
 * libraries that `ldd` lists for node and for the native add-ons the runtime loads, an /etc/passwd with an
 * unprivileged user, and an empty /tmp, imported as a rootfs tarball (`docker import`). Reused when an
 * image with that tag and the same content hash exists.
 */
export async function ensureBaseImage(
  docker: Docker,
  options: { nativeLibraries: string[]; cache: FileFactCache; tag?: string; log?: (line: string) => void },
): Promise<BaseImageResult> {
  const started = Date.now();
  const tag = options.tag ?? defaultBaseImageTag();
  const nodeBinary = await realpath(process.execPath);
  const libs = await sharedLibraries([nodeBinary, ...options.nativeLibraries], options.cache);
  const entries: Array<{ host: string; image: string }> = [{ host: nodeBinary, image: NODE_PATH_IN_IMAGE }, ...libs.map((l) => ({ host: l, image: l }))];
  const hash = await contentHash(entries, options.cache);

  const existing = await inspectImage(docker, tag);
  if (existing && existing.Config?.Labels?.[LABEL.contentHash] === hash) {
    return { tag, id: existing.Id, reused: true, files: entries.map((e) => e.image), buildMs: Date.now() - started };
  }
  options.log?.(`building base image ${tag} from the host's node ${process.version} and ${libs.length} shared libraries`);
  const staging = await mkdtemp(join(tmpdir(), 'sovereign-rootfs-'));
  try {
    for (const e of entries) {
      const target = join(staging, e.image);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(await realpath(e.host), target);
    }
    await mkdir(join(staging, 'etc'), { recursive: true });
    await writeFile(join(staging, 'etc/passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\nsovereign:x:${APP_UID}:${APP_UID}:sovereign:/tmp:/usr/sbin/nologin\n`);
    await writeFile(join(staging, 'etc/group'), `root:x:0:\nsovereign:x:${APP_UID}:\n`);
    await mkdir(join(staging, 'tmp'));
    await chmod(join(staging, 'tmp'), 0o1777);
    await mkdir(join(staging, 'models'));
    const stream = tar.c({ cwd: staging, portable: false }, ['.']);
    const changes = [
      `ENV PATH=${IMAGE_PATH}`,
      `LABEL ${LABEL.managed}=true ${LABEL.kind}=base-image ${LABEL.contentHash}=${hash}`,
      `USER ${APP_UID}:${APP_UID}`,
      'CMD ["node"]',
    ];
    const [repo, version] = splitTag(tag);
    const out = await docker.importImage(stream as unknown as NodeJS.ReadableStream, { repo, tag: version, changes } as object);
    await followStream(docker, out as NodeJS.ReadableStream);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const built = await inspectImage(docker, tag);
  if (!built) throw new SovereignError(`the base image ${tag} was not created`, 'see the engine log (/var/log/sovereign-dockerd.log)');
  return { tag, id: built.Id, reused: false, files: entries.map((e) => e.image), buildMs: Date.now() - started };
}

export async function inspectImage(docker: Docker, ref: string): Promise<{ Id: string; Config?: { Labels?: Record<string, string> | null } } | undefined> {
  try {
    return (await docker.getImage(ref).inspect()) as { Id: string; Config?: { Labels?: Record<string, string> | null } };
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

export function splitTag(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}

/**
 * Shared libraries (absolute host paths, the dynamic loader included) that `ldd` lists for these ELF files,
 * minus the ones that live beside them (node_modules, shipped in the app layer). A "not found" is an error:
 * the image would not start.
 */
export async function sharedLibraries(elfFiles: string[], cache?: FileFactCache): Promise<string[]> {
  const found = new Set<string>();
  const missing: string[] = [];
  for (const file of elfFiles) {
    const out = cache ? await cache.get('ldd', file, () => ldd(file)) : await ldd(file);
    for (const line of out.split('\n')) {
      const arrow = /^\s*(\S+)\s+=>\s+(\S+)/.exec(line);
      const bare = /^\s*(\/\S+)\s+\(0x/.exec(line);
      if (arrow && arrow[2] === 'not') missing.push(`${arrow[1]} (for ${file})`);
      const path = arrow ? arrow[2] : bare?.[1];
      if (!path || !path.startsWith('/') || path.includes('/node_modules/')) continue;
      found.add(path);
    }
  }
  if (missing.length) {
    throw new SovereignError(`shared libraries not found on this host: ${missing.join(', ')}`, 'install them (apt-get) or pass --base-image with an image that has them');
  }
  return [...found].sort();
}

function ldd(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ldd', [file], (err, stdout, stderr) => {
      // ldd exits 1 for files that are not dynamic executables (static or not ELF): nothing to add.
      if (err && /not a dynamic executable|statically linked/.test(stdout + stderr)) return resolve('');
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new SovereignError('ldd is not installed', 'install libc-bin, or pass --base-image with an image that already has node'));
      }
      if (err) return reject(new SovereignError(`ldd ${file} failed: ${stderr.trim() || err.message}`));
      resolve(stdout);
    });
  });
}

async function contentHash(entries: Array<{ host: string; image: string }>, cache: FileFactCache): Promise<string> {
  const h = createHash('sha256');
  h.update('sovereign-base/1\n');
  for (const e of entries) h.update(`${e.image}\0${await cache.sha256(await realpath(e.host))}\n`);
  return h.digest('hex');
}
