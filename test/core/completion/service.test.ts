import { strict as assert } from 'node:assert';
import { CompletionService, DEFAULT_COMPLETION_SETTINGS } from '../../../src/core/completion/service';
import { NoFimSupportError, withInserted, type BackendRequest, type BackendResult, type CompletionBackend } from '../../../src/core/completion/types';
import { withCursor } from './doc';

/**
 * A scripted backend: it answers after a delay with a fixed continuation and records what it was asked and
 * whether it was aborted. (The pipeline against real models is tested with `sovereign serve` and the
 * generated tiny GGUF in the serve/extension suites.)
 */
class ScriptedBackend implements CompletionBackend {
  readonly kind = 'llama-server' as const;
  readonly label = 'scripted';
  readonly baseUrl = 'http://127.0.0.1:1';
  calls: BackendRequest[] = [];
  aborted = 0;
  constructor(private readonly answer: (req: BackendRequest) => string | Error, private readonly delayMs = 30) {}
  complete(req: BackendRequest, signal: AbortSignal): Promise<BackendResult> {
    this.calls.push(req);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const a = this.answer(req);
        if (a instanceof Error) reject(a);
        else resolve({ text: a, timings: { predictedTokens: 3, predictedMs: this.delayMs, tokensPerSecond: 100 } });
      }, this.delayMs);
      signal.addEventListener('abort', () => {
        clearTimeout(t);
        this.aborted++;
        reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      });
    });
  }
}

const settings = { ...DEFAULT_COMPLETION_SETTINGS, orphanGraceMs: 40 };

describe('completion service (cache, reuse, cancellation)', () => {
  it('requests, post-processes, then serves the same context and type-through from the cache', async () => {
    const backend = new ScriptedBackend(() => 'a + b;\nconsole.log(1)');
    const svc = new CompletionService(backend, settings);
    const { doc, pos } = withCursor('function add(a, b) {\n  return |\n}');
    const first = await svc.complete(doc, pos, [], { debounce: false });
    assert.equal(first?.text, 'a + b;');
    assert.equal(first?.source, 'request');
    assert.equal(first?.timings?.tokensPerSecond, 100);
    const again = await svc.complete(doc, pos, [], { debounce: false });
    assert.deepEqual([again?.text, again?.source], ['a + b;', 'cache']);
    const typed = withCursor('function add(a, b) {\n  return a |\n}');
    const through = await svc.complete(typed.doc, typed.pos, [], { debounce: false });
    assert.deepEqual([through?.text, through?.source], ['+ b;', 'cache']);
    assert.equal(backend.calls.length, 1);
  });

  it('reuses an in-flight request when the user types ahead of it', async () => {
    const backend = new ScriptedBackend(() => 'total + 1;', 80);
    const svc = new CompletionService(backend, settings);
    const a = withCursor('let x = |');
    const b = withCursor('let x = to|');
    const ac = new AbortController();
    const first = svc.complete(a.doc, a.pos, [], { debounce: false, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 10));
    ac.abort(); // the editor cancels the first request as the user types "to"
    const second = await svc.complete(b.doc, b.pos, [], { debounce: false });
    assert.equal(await first, undefined);
    assert.deepEqual([second?.text, second?.source], ['tal + 1;', 'reused']);
    assert.equal(backend.calls.length, 1);
    assert.equal(backend.aborted, 0);
  });

  it('aborts the generation when the editor cancels and nothing reuses it', async () => {
    const backend = new ScriptedBackend(() => 'x', 500);
    const svc = new CompletionService(backend, settings);
    const a = withCursor('let x = |');
    const ac = new AbortController();
    const p = svc.complete(a.doc, a.pos, [], { debounce: false, signal: ac.signal });
    ac.abort();
    assert.equal(await p, undefined);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(backend.aborted, 1);
  });

  it('aborts the old request at once when the cursor moves elsewhere', async () => {
    const backend = new ScriptedBackend(() => 'y', 200);
    const svc = new CompletionService(backend, settings);
    const a = withCursor('let x = |\nlet y = 2');
    const b = withCursor('let x = 1\nlet y = |');
    const first = svc.complete(a.doc, a.pos, [], { debounce: false });
    const second = await svc.complete(b.doc, b.pos, [], { debounce: false });
    assert.equal(await first, undefined);
    assert.equal(second?.text, 'y');
    assert.equal(backend.aborted, 1);
  });

  it('warns once, and returns nothing, when the model cannot do FIM', async () => {
    const warnings: string[] = [];
    const backend = new ScriptedBackend(() => new NoFimSupportError('instruct-model', 'HTTP 501'), 1);
    const svc = new CompletionService(backend, settings, { onWarning: (m) => warnings.push(m) });
    const a = withCursor('x = |');
    assert.equal(await svc.complete(a.doc, a.pos, [], { debounce: false }), undefined);
    const b = withCursor('y = |');
    assert.equal(await svc.complete(b.doc, b.pos, [], { debounce: false }), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cannot do fill-in-the-middle/);
  });

  it('reports every request as metadata only (no code)', async () => {
    const events: Record<string, unknown>[] = [];
    const svc = new CompletionService(new ScriptedBackend(() => '42;', 1), settings, { onRequest: (e) => events.push(e) });
    const a = withCursor('const secretSauce = |');
    await svc.complete(a.doc, a.pos, [], { debounce: false });
    assert.equal(events.length, 1);
    assert.equal(events[0].ok, true);
    assert.doesNotMatch(JSON.stringify(events), /secretSauce/);
  });
});

describe('speculative FIM: the suggestion after the one on screen, requested before it is accepted', () => {
  it('withInserted: the document and cursor after an accepted suggestion (one line, several lines)', () => {
    const { doc, pos } = withCursor('a\nlet x = |;\nz');
    const one = withInserted(doc, pos, 'y + 1');
    assert.deepEqual([one.doc.lineCount, one.doc.lineText(1), one.doc.lineText(2), one.pos], [3, 'let x = y + 1;', 'z', { line: 1, character: 13 }]);
    const many = withInserted(doc, pos, '{\n  k: 1\n}');
    assert.deepEqual(Array.from({ length: many.doc.lineCount }, (_, i) => many.doc.lineText(i)), ['a', 'let x = {', '  k: 1', '};', 'z']);
    assert.deepEqual(many.pos, { line: 3, character: 1 });
  });

  it('accept-then-continue is served from the cache, counted as a speculative hit', async () => {
    const backend = new ScriptedBackend((req) => (req.context.linePrefix.endsWith('= 1;') ? ' // one' : ' 1;'));
    const svc = new CompletionService(backend, settings);
    const at = withCursor('const a =|\nnext();');
    const shown = await svc.complete(at.doc, at.pos, [], { debounce: false });
    assert.equal(shown?.text, ' 1;');
    await svc.speculate(at.doc, at.pos, shown!.text, []);
    assert.equal(backend.calls.length, 2, 'one speculative request');
    const accepted = withCursor('const a = 1;|\nnext();');
    const next = await svc.complete(accepted.doc, accepted.pos, [], { debounce: false });
    assert.deepEqual([next?.text, next?.source], [' // one', 'cache']);
    assert.equal(backend.calls.length, 2, 'no request after accepting');
    assert.deepEqual(svc.stats, { served: 2, cacheHits: 1, reused: 0, requests: 1, speculations: 1, speculativeHits: 1 });
  });

  it('accepted before the speculation answered: the next request joins it instead of asking again', async () => {
    const backend = new ScriptedBackend(() => ' 2;', 60);
    const svc = new CompletionService(backend, settings);
    const at = withCursor('let b =|');
    const speculation = svc.speculate(at.doc, at.pos, ' 1', []);
    const accepted = withCursor('let b = 1|');
    const next = await svc.complete(accepted.doc, accepted.pos, [], { debounce: false });
    await speculation;
    assert.deepEqual([next?.text, next?.source, backend.calls.length], [' 2;', 'reused', 1]);
    assert.equal(svc.stats.speculativeHits, 1);
  });

  it('a keystroke elsewhere preempts the speculation, and none starts while a real request runs', async () => {
    const backend = new ScriptedBackend(() => 'x;', 60);
    const svc = new CompletionService(backend, settings);
    const at = withCursor('let c =|');
    const speculation = svc.speculate(at.doc, at.pos, ' 9', []);
    const typed = withCursor('let c = q|');
    const real = svc.complete(typed.doc, typed.pos, [], { debounce: false });
    await speculation;
    assert.equal(backend.aborted, 1, 'the speculation was aborted');
    await svc.speculate(typed.doc, typed.pos, 'zz', []);
    assert.equal(backend.calls.length, 2, 'no speculation beside a running request');
    assert.equal((await real)?.text, 'x;');
    assert.deepEqual([svc.stats.speculations, svc.stats.speculativeHits], [1, 0]);
  });

  it('off with speculative: false', async () => {
    const backend = new ScriptedBackend(() => 'x;');
    const svc = new CompletionService(backend, { ...settings, speculative: false });
    const at = withCursor('let d =|');
    await svc.speculate(at.doc, at.pos, ' 1', []);
    assert.equal(backend.calls.length, 0);
  });
});
