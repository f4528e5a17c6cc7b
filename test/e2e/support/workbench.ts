/**
 * A page object for the VS Code workbench in code-server, driven like a person would: the command
 * palette, quick inputs, notifications, editors, the Problems panel, webviews, ghost text.
 * Selectors are VS Code's own DOM classes (stable across 1.9x-1.13x); see docs/e2e.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import type { Test } from 'mocha';
import { workbenchUrl } from '../../../scripts/e2e/workbench-url';
import { SCREENSHOT_DIR, session } from './session';

export interface ContributedCommand {
  command: string;
  title: string;
  category?: string;
}
export interface ContributedView {
  id: string;
  name: string;
  type?: string;
}
export interface Manifest {
  publisher: string;
  name: string;
  contributes?: {
    commands?: ContributedCommand[];
    menus?: Record<string, Array<{ command: string; when?: string }>>;
    views?: Record<string, ContributedView[]>;
    configuration?: { properties?: Record<string, unknown> } | Array<{ properties?: Record<string, unknown> }>;
  };
}

/** The extension's package.json, read fresh (the UI checks follow what it contributes). */
export function manifest(): Manifest {
  return JSON.parse(readFileSync(join(session().repoRoot, 'package.json'), 'utf8')) as Manifest;
}

/** Contributed commands the palette should list (those not hidden with `"when": "false"`). */
export function paletteCommands(m: Manifest = manifest()): ContributedCommand[] {
  const hidden = new Set((m.contributes?.menus?.commandPalette ?? []).filter((e) => e.when === 'false').map((e) => e.command));
  return (m.contributes?.commands ?? []).filter((c) => !hidden.has(c.command));
}

/** "Category: Title" as the palette shows it. */
export function paletteLabel(c: ContributedCommand): string {
  return c.category ? `${c.category}: ${c.title}` : c.title;
}

/** Monaco renders spaces as non-breaking spaces; tests compare plain text. */
export function plainText(text: string): string {
  return text.replace(/\u00a0/g, ' ');
}

let lastPage: Page | undefined;

export interface WorkbenchOpenOptions {
  /**
   * A module exporting `run()` that VS Code loads into the extension host of this window (the benchmarks' probe,
   * bench/vscode-session.ts); needs the development path (SOVEREIGN_E2E_EXTENSION=development).
   */
  extensionTestsPath?: string;
  /** Runs before the workbench loads (e.g. `page.exposeFunction` for the smoke-test driver's callbacks). */
  beforeLoad?: (page: Page) => Promise<void>;
}

export class Workbench {
  private constructor(readonly page: Page) {}

  /**
   * Opens the workbench on the demo workspace (or `folder`) with the extension under test: the installed VSIX
   * (default) or this repository as extensionDevelopmentPath (session().extension).
   */
  static async open(folder = session().workspace.dir, options: WorkbenchOpenOptions = {}): Promise<Workbench> {
    const s = session();
    const page = await s.browser.context.newPage();
    lastPage = page;
    const extensionDevelopmentPath = s.extension.mode === 'development' ? s.extension.path : undefined;
    await options.beforeLoad?.(page);
    const { extensionTestsPath } = options;
    await page.goto(workbenchUrl({ origin: s.server.origin, folder, extensionDevelopmentPath, extensionTestsPath }), { waitUntil: 'domcontentloaded', timeout: 120_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // The explorer shows the folder once the remote connection and file service are up.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
    return new Workbench(page);
  }

  async close(): Promise<void> {
    if (lastPage === this.page) lastPage = undefined;
    await this.page.close().catch(() => undefined);
  }

  /**
   * Which of `labels` the command palette lists. The list is virtualised (only visible rows exist in
   * the DOM), so each label is typed as the filter in turn, in one opening of the palette.
   */
  async paletteHas(labels: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    await this.openPalette('');
    for (const label of labels) {
      await this.quickInput().fill(`>${label}`);
      const row = this.page.locator('.quick-input-widget .monaco-list-row .label-name', { hasText: label }).first();
      if (await row.waitFor({ timeout: 2_000 }).then(() => true, () => false)) found.add(label);
    }
    await this.page.keyboard.press('Escape');
    return found;
  }

  /**
   * Runs a command by its palette label. The palette snapshots the command list when it opens, so a
   * command registered a moment later needs a second try: close and reopen until it is listed.
   */
  async runCommand(label: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.openPalette(label);
      const row = this.page.locator('.quick-input-widget .monaco-list-row', { hasText: label }).first();
      if (await row.waitFor({ timeout: 3_000 }).then(() => true, () => false)) {
        await this.page.keyboard.press('Enter');
        return;
      }
      await this.page.keyboard.press('Escape');
      if (Date.now() > deadline) throw new Error(`Command "${label}" is not in the command palette.`);
      await this.page.waitForTimeout(500);
    }
  }

  private async openPalette(text: string): Promise<void> {
    const input = this.quickInput();
    // Right after a window loads, the first key can land before the workbench has focus: retry.
    for (let attempt = 0; ; attempt++) {
      await this.page.keyboard.press('F1');
      if (await input.waitFor({ timeout: 5_000 }).then(() => true, () => false)) break;
      if (attempt >= 5) throw new Error('The command palette did not open (F1).');
      await this.page.locator('.part.statusbar').click({ position: { x: 5, y: 5 } }).catch(() => undefined);
    }
    await input.fill(`>${text}`);
  }

  /** The text box of the open quick input (palette, pickers, the simple file dialog). */
  quickInput(): Locator {
    return this.page.locator('.quick-input-widget .quick-input-box input');
  }

  /**
   * Answers a quick input / the web file dialog: waits for it (by its title when given, so the palette
   * that opened it is not mistaken for it), replaces its text with `value`, accepts it and waits until
   * it has closed (the simple file dialog validates the path asynchronously and may ignore an early Enter).
   */
  async answerQuickInput(value: string, title?: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    if (title) await widget.locator('.quick-input-title', { hasText: title }).waitFor({ timeout: 30_000 });
    const input = this.quickInput();
    await input.waitFor({ timeout: 10_000 });
    for (let attempt = 0; attempt < 6; attempt++) {
      // The simple file dialog rewrites its text while it lists folders: (re)type the value each time.
      if ((await input.inputValue().catch(() => value)) !== value) await input.fill(value);
      await this.page.waitForTimeout(500 + attempt * 500);
      await input.press('Enter');
      if (await widget.waitFor({ state: 'hidden', timeout: 10_000 }).then(() => true, () => false)) return;
    }
    throw new Error(`The quick input did not accept "${value}" (it shows "${await input.inputValue().catch(() => '?')}").`);
  }

  /**
   * Waits for a notification whose message matches and returns it. With the smoke-test driver on (needed
   * to load the extension from this repository) VS Code shows no toasts: notifications go straight to
   * the notification center, so we open it, as a person would from the bell in the status bar.
   */
  async waitForNotification(message: RegExp, timeoutMs = 60_000): Promise<Locator> {
    const item = this.page.locator('.notifications-center .notification-list-item', { has: this.page.locator('.notification-list-item-message', { hasText: message }) }).first();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!(await this.page.locator('.notifications-center.visible').isVisible())) await this.runCommand('Notifications: Show Notifications');
      if (await item.waitFor({ timeout: 2_000 }).then(() => true, () => false)) return item;
      if (Date.now() > deadline) throw new Error(`No notification matching ${message} within ${timeoutMs / 1000} s.`);
    }
  }

  /** Texts of every notification in the notification center. */
  async notificationTexts(): Promise<string[]> {
    if (!(await this.page.locator('.notifications-center.visible').isVisible())) await this.runCommand('Notifications: Show Notifications');
    return (await this.page.locator('.notifications-center .notification-list-item-message').allInnerTexts()).map(plainText);
  }

  async clickNotificationButton(message: RegExp, button: string): Promise<void> {
    const item = await this.waitForNotification(message);
    await item.getByRole('button', { name: button }).click();
  }

  /** The visible text of the active editor (enough for the short documents tests open). */
  async activeEditorText(): Promise<string> {
    const lines = this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
    await lines.waitFor({ timeout: 15_000 });
    return plainText(await lines.innerText());
  }

  /** Quick Open a workspace file by its relative path (the palette without `>` searches files). */
  async openFile(relativePath: string): Promise<void> {
    await this.openPalette('');
    const input = this.quickInput();
    await input.fill(relativePath);
    const name = relativePath.split('/').pop() ?? relativePath;
    await this.page.locator('.quick-input-widget .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 30_000 });
    await input.press('Enter');
    await this.page.locator(`.tabs-container .tab.active[aria-label*="${name}"], .tabs-container .tab.active:has-text("${name}")`).first().waitFor({ timeout: 30_000 });
    await this.page.locator('.editor-group-container.active .monaco-editor').first().waitFor({ timeout: 15_000 });
  }

  /** The content frame of the visible webview (VS Code nests it: outer iframe, then #active-frame). */
  webview(): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').frameLocator('#active-frame');
  }

  /** Inline completion ghost text in the active editor. */
  ghostText(): Locator {
    return this.page.locator('.editor-group-container.active .ghost-text-decoration, .editor-group-container.active .ghost-text-decoration-preview');
  }

  /** Rows of the Problems panel (opens it). */
  async problems(): Promise<string[]> {
    await this.runCommand('View: Focus Problems');
    const rows = this.page.locator('.markers-panel .monaco-list-row');
    await rows.first().waitFor({ timeout: 15_000 }).catch(() => undefined);
    return (await rows.allInnerTexts()).map(plainText);
  }

  /**
   * A row of a virtualized list (a tree view, the Running Extensions editor): only the rows in sight are in the
   * DOM, so the list is scrolled with the mouse wheel until the row shows up. Every row text seen on the way is
   * collected in `seen`.
   */
  async listRow(list: Locator, text: string, seen: Set<string> = new Set(), timeoutMs = 30_000): Promise<Locator> {
    const row = list.locator('.monaco-list-row', { hasText: text }).first();
    const deadline = Date.now() + timeoutMs;
    let direction = 1;
    let unchanged = 0;
    for (;;) {
      const texts = (await list.locator('.monaco-list-row').allInnerTexts()).map(plainText);
      for (const t of texts) seen.add(t);
      if (await row.isVisible()) return row;
      if (Date.now() > deadline) throw new Error(`no row "${text}" in the list after ${timeoutMs / 1000} s (rows seen: ${[...seen].join(' | ').slice(0, 600)})`);
      const box = await list.boundingBox();
      if (box) {
        await this.page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 100));
        await this.page.mouse.wheel(0, 240 * direction);
      }
      await this.page.waitForTimeout(250);
      const after = (await list.locator('.monaco-list-row').allInnerTexts()).map(plainText).join('\n');
      // At the end of the list (nothing moved three times): go the other way; the list may also still be loading.
      unchanged = after === texts.join('\n') ? unchanged + 1 : 0;
      if (unchanged >= 3) {
        direction = -direction;
        unchanged = 0;
      }
    }
  }

  async screenshot(name: string): Promise<string> {
    const path = join(SCREENSHOT_DIR, `${safeName(name)}.png`);
    await this.page.screenshot({ path });
    return path;
  }
}

/** Root hook: the page a test last used, saved as test-results/screenshots/<suite>--<test>.png. */
export async function screenshotAfterTest(test: Test): Promise<void> {
  if (!lastPage || lastPage.isClosed()) return;
  const name = `${test.parent?.title ?? 'e2e'}--${test.title}${test.state === 'failed' ? '--FAILED' : ''}`;
  await lastPage.screenshot({ path: join(SCREENSHOT_DIR, `${safeName(name)}.png`) }).catch(() => undefined);
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120);
}
