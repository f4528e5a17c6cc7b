import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { writeTinyLlama, type TinyLlamaInfo } from '../fixtures/gguf/tiny-llama';
import { closeAllEditors, executeDismissingNotifications, sleep, waitFor, workbenchApi, ensureGitIdentity } from './support/vscode';

interface ApiShape {
  registry: { refresh(): Promise<{ versions: { name: string; version: string }[]; violations: { model?: string; version?: string; severity: string; rule: string }[] } | undefined> };
  engines: { list(): { model: string; process: { stats: { url?: string } } }[]; stop(model: string): Promise<void> };
  webviews: { open(viewType: string): { serveRequest(method: string, params: unknown): Promise<{ ok: boolean; result?: unknown; error?: { message: string } }> } | undefined };
}

const VENDOR = 'sovereign';
/** Registered by this suite (through the command, so its artifact is in this host's store): a GGUF with a chat template. */
const MODEL = 'ext-chat@1.0.0';
const REFUSED = 'ext-chat@2.0.0';

/** The chat metrics of the serve child behind a model: `sovereign_<name>{route="/v1/chat/completions"}`. */
async function chatMetric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes('route="/v1/chat/completions"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/**
 * VS Code's language-model API with the workbench's models, in the real extension host (code-server
 * 1.139): the admitted registered GGUF version is found by `vscode.lm.selectChatModels({ vendor })`, its
 * real tokens stream from the supervised `sovereign serve` child, cancellation stops the engine, a
 * policy-refused version is not offered; the Playground's host runs a turn and audits it.
 */
describe('Sovereign: chat (language-model provider, Playground host) in the extension host', function () {
  this.timeout(120_000);
  let root: string;
  let dir: string;
  let api: ApiShape;
  let info: TinyLlamaInfo;
  const refusedManifest = (): string => join(root, '.sovereign', 'models', 'ext-chat', '2.0.0.yaml');

  before(async function () {
    if (typeof (vscode.lm as { registerLanguageModelChatProvider?: unknown }).registerLanguageModelChatProvider !== 'function') {
      // The API is finalised in VS Code 1.104; the suite runs in code-server 1.139. An older host must not pass silently.
      throw new Error(`VS Code ${vscode.version} lacks vscode.lm.registerLanguageModelChatProvider`);
    }
    api = await workbenchApi<ApiShape>();
    root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    dir = await mkdtemp(join(tmpdir(), 'sovereign-ext-chat-'));
    ensureGitIdentity(root);
    info = await writeTinyLlama(join(dir, 'ext-chat.gguf'), { chatTemplate: true, name: 'ext-chat' });
    const registered = await executeDismissingNotifications<{ manifestFile: string } | undefined>('sovereign.registerModel', vscode.Uri.file(info.path), {
      name: 'ext-chat',
      version: '1.0.0',
      license: 'MIT',
      source: 'https://example.invalid/ext-chat',
    });
    assert.ok(registered, 'the chat model was registered');
    // A second version that breaks the policy (`required_fields: [license, source]`: no licence): refused.
    const original = await readFile(join(root, registered.manifestFile), 'utf8');
    await writeFile(refusedManifest(), original.replace(/^version: .*$/m, 'version: 2.0.0').replace(/^license: .*\n/m, ''));
    await api.registry.refresh();
  });

  after(async () => {
    await rm(refusedManifest(), { force: true });
    await rm(join(root, '.sovereign', 'prompts'), { recursive: true, force: true });
    for (const e of api?.engines.list() ?? []) if (e.model.includes('ext-chat')) await api.engines.stop(e.model);
    await closeAllEditors();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('selectChatModels({ vendor }) finds the admitted version and not the refused one', async () => {
    const models = await waitFor(async () => {
      const found = await vscode.lm.selectChatModels({ vendor: VENDOR });
      return found.some((m) => m.id === MODEL) ? found : undefined;
    }, `${MODEL} among the "${VENDOR}" chat models`, 30_000);
    const ids = models.map((m) => m.id);
    // The refused version is registered (in the snapshot) with a policy error: left out for that reason only.
    const snapshot = await api.registry.refresh();
    assert.ok(snapshot?.versions.some((v) => `${v.name}@${v.version}` === REFUSED), `${REFUSED} is in the registry snapshot`);
    assert.ok(snapshot?.violations.some((v) => `${v.model}@${v.version}` === REFUSED && v.severity === 'error'), `${REFUSED} has a policy error`);
    assert.ok(!ids.includes(REFUSED), `${REFUSED} is refused by the policy and must not be offered: ${ids.join(', ')}`);
    const model = models.find((m) => m.id === MODEL)!;
    assert.equal(model.vendor, VENDOR);
    assert.equal(model.family, 'ext-chat');
    assert.equal(model.version, '1.0.0');
    assert.ok(model.maxInputTokens > 0);
  });

  it('sendRequest streams the model\'s real tokens; countTokens uses its tokenizer', async () => {
    const [model] = await vscode.lm.selectChatModels({ vendor: VENDOR, id: MODEL });
    const response = await model.sendRequest([vscode.LanguageModelChatMessage.User('Hello there')], { modelOptions: { temperature: 0, max_tokens: 8 } });
    const pieces: string[] = [];
    for await (const piece of response.text) pieces.push(piece);
    assert.equal(pieces.join(''), info.expectedChatResponse(8));
    assert.ok(pieces.length > 1, `streamed in ${pieces.length} piece(s)`);
    assert.equal(await model.countTokens('Hello there'), info.tokenize('Hello there').length);
  });

  it('cancellation stops the engine\'s generation', async () => {
    const [model] = await vscode.lm.selectChatModels({ vendor: VENDOR, id: MODEL });
    const url = api.engines.list().find((e) => e.model.endsWith('ext-chat/1.0.0.yaml'))?.process.stats.url;
    assert.ok(url, 'the version runs in a supervised serve child');
    const before = await chatMetric(url, 'sovereign_cancelled_requests_total');
    const cts = new vscode.CancellationTokenSource();
    const response = await model.sendRequest([vscode.LanguageModelChatMessage.User('go on')], { modelOptions: { temperature: 0, max_tokens: 2000 } }, cts.token);
    let got = '';
    try {
      for await (const piece of response.text) {
        got += piece;
        cts.cancel();
      }
    } catch {
      // a cancelled request may end its stream with an error: what matters is the engine
    }
    assert.ok(got.length > 0 && got.length < info.expectedChatResponse(300).length, `${got.length} characters before the stop`);
    const after = await waitFor(async () => {
      const n = await chatMetric(url, 'sovereign_cancelled_requests_total');
      return n > before ? n : undefined;
    }, 'serve to count the cancelled generation', 10_000);
    assert.equal(after, before + 1);
  });

  it('the Playground host runs a turn (audited, metadata only) and saves a canary prompt set', async () => {
    await vscode.commands.executeCommand('sovereign.showPlayground');
    const panel = await waitFor(() => api.webviews.open('sovereign.playground'), 'the Playground panel');
    const audit = join(root, '.sovereign', 'audit.jsonl');
    const settings = { system: '', temperature: 0, topP: 1, maxTokens: 6 };
    const refused = await panel.serveRequest('send', { turnId: 't-refused', target: `version:${REFUSED}`, column: 0, settings, messages: [{ role: 'user', text: 'x' }], surface: 'playground' });
    assert.equal(refused.ok, true);
    assert.match(JSON.stringify(refused.result), /"ok":false.*cannot be used for chat: refused by the policy/);
    const reply = await panel.serveRequest('send', { turnId: 't-1', target: `version:${MODEL}`, column: 0, settings, messages: [{ role: 'user', text: 'a secret-free prompt about zebras' }], surface: 'playground' });
    assert.deepEqual(reply.result, { ok: true });
    const entry = await waitFor(async () => {
      const lines = (await readFile(audit, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { action: string; subject: string; details: Record<string, unknown> });
      return lines.reverse().find((l) => l.action === 'chat' && l.details.surface === 'playground');
    }, 'a chat entry from the Playground in the audit log');
    assert.equal(entry.subject, MODEL);
    assert.equal(entry.details.completionTokens, 6);
    const log = await readFile(audit, 'utf8');
    assert.ok(!log.includes('zebras') && !log.includes(info.expectedChatResponse(6)), 'no prompt or answer text in the audit log');
    assert.ok(log.includes('"surface":"lm-api"'), 'the language-model turns are audited too');
    const saved = await panel.serveRequest('savePromptSet', { name: 'ext-set', prompts: ['one', 'two'], maxTokens: 8 });
    assert.deepEqual(saved.result, { ok: true, file: '.sovereign/prompts/ext-set.jsonl' });
    assert.equal(await readFile(join(root, '.sovereign', 'prompts', 'ext-set.jsonl'), 'utf8'), '{"prompt":"one","max_tokens":8}\n{"prompt":"two","max_tokens":8}\n');
    const hostile = await panel.serveRequest('savePromptSet', { name: '../../escape', prompts: ['x'], maxTokens: 8 });
    assert.match(JSON.stringify(hostile.result), /not a prompt set name/);
    assert.ok(!existsSync(join(root, '..', 'escape.jsonl')));
    await sleep(100);
  });
});
