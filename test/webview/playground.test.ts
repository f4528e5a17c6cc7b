import { strict as assert } from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startServe, type RunningServer } from '../../src/core/serve/start';
import type { PlaygroundState, SavedConversation } from '../../webview/playground/contract';
import { writeTinyLlama, type TinyLlamaInfo } from '../fixtures/gguf/tiny-llama';
import { skipLoudly, startWebviewHarness, type HarnessGlobals, type OpenedView, type WebviewHarness } from './chromium-harness';
import { attachFakeHost, type FakeHost, type HostOptions } from './playground-host';

/**
 * The Playground in a real Chromium under the real CSP: answers streamed from a real `sovereign serve`
 * (llama.cpp, a generated GGUF with a chat template), hostile markup in an answer shown as text, two
 * columns side by side, and the conversation back after a reload. Skipped without Chromium.
 */
describe('Playground webview in Chromium under the strict CSP', function () {
  this.timeout(120_000);
  let harness: WebviewHarness | undefined;
  let dir: string;
  let info: TinyLlamaInfo;
  let server: RunningServer;

  const TARGETS = [
    { id: 'version:tiny@1.0.0', kind: 'version', label: 'tiny@1.0.0', admitted: true, detail: 'production' },
    { id: 'version:tiny@2.0.0', kind: 'version', label: 'tiny@2.0.0', admitted: true, detail: 'canary' },
    { id: 'version:tiny@3.0.0', kind: 'version', label: 'tiny@3.0.0', admitted: false, reason: 'refused by the policy: license: licence GPL-3.0 is not allowed' },
    { id: 'backend:http://127.0.0.1:9/', kind: 'backend', label: 'scripted', admitted: true },
  ] as const;
  const state = (conversation?: SavedConversation): PlaygroundState => ({ kind: 'ready', targets: TARGETS.map((t) => ({ ...t })), ...(conversation ? { conversation } : {}) });

  before(async function () {
    harness = await startWebviewHarness('cGxheWdyb3VuZC1ub25jZQ==');
    if (!harness) return skipLoudly(this, 'test/webview/playground.test.ts');
    dir = await mkdtemp(join(tmpdir(), 'sovereign-playground-'));
    info = await writeTinyLlama(join(dir, 'chat.gguf'), { chatTemplate: true });
    server = await startServe({ model: info.path, port: 0, parallel: 2, load: { threads: 1, contextSize: 1024 } });
  });
  after(async () => {
    await harness?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  let script: string[] = [];
  const options: HostOptions = {
    route: (target) => (target.startsWith('backend:') ? { script } : { url: server.url, label: target, local: true }),
    answer: () => undefined,
  };

  async function open(saved?: unknown, conversation?: SavedConversation): Promise<OpenedView & { host: FakeHost }> {
    const opened = await harness!.open('playground', state(conversation), saved);
    return { ...opened, host: await attachFakeHost(opened.page, options) };
  }

  async function close({ page, errors }: OpenedView): Promise<void> {
    await page.waitForTimeout(100);
    assert.deepEqual(await page.evaluate(() => (globalThis as unknown as HarnessGlobals).__csp), [], 'CSP violations');
    assert.deepEqual(errors, []);
    await page.close();
  }

  async function ask(page: Page, prompt: string): Promise<void> {
    await page.locator('#prompt').fill(prompt);
    await page.locator('#send').click();
  }

  const answers = (page: Page, column = 0) => page.locator(`.column[data-column="${column}"] .turn.assistant`);

  it('streams a real answer and shows its figures; a refused version is listed but cannot be chosen', async () => {
    const opened = await open();
    const { page, host } = opened;
    const refused = page.locator('#target-0 option[value="version:tiny@3.0.0"]');
    assert.equal(await refused.getAttribute('disabled'), '');
    assert.match(await refused.innerText(), /refused by the policy: license/);
    await page.locator('#settings summary').click();
    await page.locator('#max-tokens').fill('8');
    await page.locator('#max-tokens').dispatchEvent('change');
    await page.locator('#temperature').fill('0');
    await page.locator('#temperature').dispatchEvent('change');
    await ask(page, 'Hello there');
    const answer = answers(page).last();
    await answer.locator('.turn-meta .stats', { hasText: /tokens/ }).waitFor();
    assert.equal((await answer.locator('.turn-body').innerText()).trim(), info.expectedChatResponse(8));
    const stats = await answer.locator('.turn-meta .stats').innerText();
    assert.match(stats, /TTFT \d+ ms/);
    assert.match(stats, /tok\/s/);
    assert.match(stats, /8 tokens/);
    assert.match(stats, /template: ChatML/);
    const send = host.calls.find((c) => c.method === 'send')!.params as { target: string; settings: { maxTokens: number; temperature: number }; messages: unknown[] };
    assert.equal(send.target, 'version:tiny@1.0.0');
    assert.equal(send.settings.maxTokens, 8);
    assert.deepEqual(send.messages, [{ role: 'user', text: 'Hello there' }]);
    assert.ok([...host.turns.values()][0].result!.text.length > 0);
    await close(opened);
  });

  it('a state refresh from the host while an answer streams (the engines view ticks every 5 s) keeps the answer on screen', async () => {
    const refreshing: HostOptions = {
      // The host publishes the targets again between accepting the turn and its first text, as the panel does
      // whenever the chat service changes (an engine's memory sample included).
      route: () => (void host.notify('state', state()), { script: ['Still ', 'here'] }),
    };
    const opened = await harness!.open('playground', state());
    const host = await attachFakeHost(opened.page, refreshing);
    const { page } = opened;
    await page.locator('#target-0').selectOption('backend:http://127.0.0.1:9/');
    await ask(page, 'Are you there?');
    const answer = answers(page).last();
    await answer.locator('.turn-meta .stats', { hasText: /2 tokens/ }).waitFor({ timeout: 10_000 });
    assert.equal((await answer.locator('.turn-body').innerText()).trim(), 'Still here');
    assert.equal(await answers(page).count(), 1);
    await close(opened);
  });

  it('shows <script> and <img onerror> from a model answer as text; links are inert; code blocks get Copy and Insert', async () => {
    const opened = await open();
    const { page, host } = opened;
    await page.locator('#target-0').selectOption('backend:http://127.0.0.1:9/');
    script = ['Here: <script>window.__pwned = 1</script> and ', '<img src=x onerror="window.__pwned = 2"> ', '[docs](https://example.com/x) [bad](javascript:window.__pwned=3)\n\n', '```js\nconst a = "<b>";\n```\n'];
    await ask(page, 'show me');
    const body = answers(page).last().locator('.turn-body');
    await answers(page).last().locator('.turn-meta .stats').waitFor();
    const text = await body.innerText();
    assert.match(text, /<script>window\.__pwned = 1<\/script>/);
    assert.match(text, /<img src=x onerror="window\.__pwned = 2">/);
    assert.equal(await body.locator('script, img, iframe, [onerror]').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
    const link = body.locator('a[data-href="https://example.com/x"]');
    assert.equal(await link.getAttribute('href'), null, 'no href: the page cannot navigate');
    await link.click();
    assert.equal(await body.locator('a[data-href^="javascript"]').count(), 0, 'a javascript: link is not a link');
    assert.equal(await body.locator('pre code').innerText(), 'const a = "<b>";\n');
    await body.locator('.copy-code').click();
    await page.waitForTimeout(100);
    assert.deepEqual(host.calls.filter((c) => c.method === 'openLink').map((c) => c.params), [{ href: 'https://example.com/x' }]);
    assert.deepEqual(host.calls.filter((c) => c.method === 'copyCode').map((c) => c.params), [{ code: 'const a = "<b>";\n' }]);
    await close(opened);
  });

  it('side by side: one prompt to two versions, two columns with their figures; saves the prompts as a canary set', async () => {
    const opened = await open();
    const { page, host } = opened;
    await page.locator('#mode').click();
    assert.equal(await page.locator('.column').count(), 2);
    await page.locator('#target-1').selectOption('version:tiny@2.0.0');
    await page.locator('#settings summary').click();
    await page.locator('#temperature').fill('0');
    await page.locator('#temperature').dispatchEvent('change');
    await page.locator('#max-tokens').fill('5');
    await page.locator('#max-tokens').dispatchEvent('change');
    await ask(page, 'Compare this');
    for (const c of [0, 1]) await answers(page, c).last().locator('.turn-meta .stats', { hasText: /tokens/ }).waitFor();
    for (const c of [0, 1]) {
      assert.equal((await answers(page, c).last().locator('.turn-body').innerText()).trim(), info.expectedChatResponse(5));
      assert.match(await answers(page, c).last().locator('.stats').innerText(), /5 tokens · \d+ prompt tokens · \d+ ms total/);
    }
    assert.deepEqual(await page.locator('.column-title').allInnerTexts(), ['tiny@1.0.0', 'tiny@2.0.0']);
    const sends = host.calls.filter((c) => c.method === 'send').map((c) => c.params as { target: string; column: number; surface: string });
    assert.deepEqual(sends.map((s) => [s.target, s.column, s.surface]), [['version:tiny@1.0.0', 0, 'compare'], ['version:tiny@2.0.0', 1, 'compare']]);
    await page.locator('#set-name').fill('cmp-set');
    await page.locator('#save-set').click();
    await page.waitForTimeout(100);
    assert.deepEqual(host.calls.filter((c) => c.method === 'savePromptSet').map((c) => c.params), [{ name: 'cmp-set', prompts: ['Compare this'], maxTokens: 5 }]);
    await close(opened);
  });

  it('the conversation survives a reload: the view state, and the workspace copy when the view has none', async () => {
    const first = await open();
    await ask(first.page, 'Remember me');
    await answers(first.page).last().locator('.turn-meta .stats', { hasText: /tokens/ }).waitFor();
    await first.page.locator('#prompt').fill('an unsent draft');
    await first.page.waitForTimeout(100);
    const saved = await first.page.evaluate(() => (globalThis as unknown as HarnessGlobals).__saved);
    const workspaceCopy = first.host.calls.filter((c) => c.method === 'saveConversation').at(-1)!.params as SavedConversation;
    const answerText = await answers(first.page).last().locator('.turn-body').innerText();
    await close(first);

    for (const [savedState, conversation] of [[saved, undefined], [undefined, workspaceCopy]] as const) {
      const again = await open(savedState, conversation);
      const p = again.page;
      await answers(p).last().waitFor();
      assert.deepEqual(await p.locator('.column[data-column="0"] .turn.user .turn-body').allInnerTexts(), ['Remember me']);
      assert.equal(await answers(p).last().locator('.turn-body').innerText(), answerText);
      assert.match(await answers(p).last().locator('.stats').innerText(), /tokens/);
      if (savedState) assert.equal(await p.locator('#prompt').inputValue(), 'an unsent draft');
      await close(again);
    }
    // A malformed saved state leaves a working view.
    const junk = await open({ mode: 7, columns: 'x', settings: { temperature: 'hot' }, draft: 5 });
    await junk.page.locator('#prompt').waitFor();
    assert.equal(await junk.page.locator('.turn').count(), 0);
    await close(junk);
  });
});
