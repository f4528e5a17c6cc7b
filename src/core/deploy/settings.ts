/** Deployment settings a front end does not pass itself: the base image. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** `flag` (e.g. --base-image), else SOVEREIGN_DEPLOY_BASE_IMAGE, else `deploy.baseImage` in .sovereign/config.yaml. */
export async function baseImageSetting(root: string, flag?: string): Promise<string | undefined> {
  if (flag) return flag;
  if (process.env.SOVEREIGN_DEPLOY_BASE_IMAGE) return process.env.SOVEREIGN_DEPLOY_BASE_IMAGE;
  try {
    const config = parseYaml(await readFile(join(root, '.sovereign', 'config.yaml'), 'utf8')) as { deploy?: { baseImage?: unknown } } | null;
    return typeof config?.deploy?.baseImage === 'string' ? config.deploy.baseImage : undefined;
  } catch {
    return undefined;
  }
}
