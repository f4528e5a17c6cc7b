/**
 * Rasterises media/icon.svg to media/icon.png (128 x 128, transparent corners), the marketplace icon, with the
 * Chromium the e2e suite drives (playwright-core, no image library needed). Run after changing the SVG:
 * `npx tsx scripts/package/icon.ts`; the PNG is committed.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH } from '../e2e/tooling';

const ROOT = resolve(__dirname, '..', '..');

async function main(): Promise<void> {
  const svg = await readFile(join(ROOT, 'media', 'icon.svg'), 'utf8');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 128, height: 128 }, deviceScaleFactor: 1 });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:transparent">${svg.replace('<svg ', '<svg style="display:block" ')}</body></html>`);
    const out = join(ROOT, 'media', 'icon.png');
    await page.screenshot({ path: out, omitBackground: true, clip: { x: 0, y: 0, width: 128, height: 128 } });
    process.stderr.write(`icon: wrote ${out}\n`);
  } finally {
    await browser.close();
  }
}

void main();
