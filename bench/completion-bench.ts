import { CompletionService, DEFAULT_COMPLETION_SETTINGS } from '../src/core/completion/service';
import type { BackendResult, CompletionBackend, DocumentLike } from '../src/core/completion/types';
import { round } from './util';

/** Answers at once: what is measured is the extension-side pipeline, not a model. */
class InstantBackend implements CompletionBackend {
  readonly kind = 'llama-server' as const;
  readonly label = 'instant';
  readonly baseUrl = 'http://127.0.0.1:1';
  private n = 0;
  async complete(): Promise<BackendResult> {
    return { text: `result${this.n++} + offset;\n  return total;` };
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Extension-side overhead per completion on a 5,000-line file (context assembly with redaction, cache,
 * post-processing; model time excluded): goal p95 <= 2 ms; a cache hit (incl. type-through) <= 1 ms.
 */
export async function run(): Promise<Record<string, unknown>> {
  const lines = Array.from({ length: 5000 }, (_, i) => `  const value${i} = compute(input[${i}], "key-${i}") * factor; // line ${i}`);
  const doc: DocumentLike = { lineCount: lines.length, lineText: (i) => lines[i] };
  const svc = new CompletionService(new InstantBackend(), DEFAULT_COMPLETION_SETTINGS);
  const extra = Array.from({ length: 16 }, (_, i) => ({ filename: `f${i}.ts`, text: lines.slice(i * 32, i * 32 + 32).join('\n') }));

  const overhead: number[] = [];
  const hits: number[] = [];
  const typeThrough: number[] = [];
  for (let i = 0; i < 1200; i++) {
    const line = 100 + ((i * 37) % 4800);
    const pos = { line, character: 10 };
    const miss = await svc.complete(doc, pos, extra, { debounce: false });
    if (i >= 200 && miss) overhead.push(miss.overheadMs);
    const hit = await svc.complete(doc, pos, extra, { debounce: false });
    if (i >= 200 && hit?.source === 'cache') hits.push(hit.latencyMs);
  }
  // Type-through: the user types the first characters of a shown suggestion.
  for (let i = 0; i < 500; i++) {
    const line = 200 + i;
    const original = lines[line];
    const shown = await svc.complete(doc, { line, character: original.length }, extra, { debounce: false });
    if (!shown) continue;
    lines[line] = original + shown.text.slice(0, 3);
    const t = await svc.complete(doc, { line, character: lines[line].length }, extra, { debounce: false });
    if (t?.source === 'cache') typeThrough.push(t.latencyMs);
    lines[line] = original;
  }
  return {
    documentLines: lines.length,
    samples: overhead.length,
    overheadP50Ms: round(percentile(overhead, 50)),
    overheadP95Ms: round(percentile(overhead, 95)),
    goalOverheadP95Ms: 2,
    cacheHitP50Ms: round(percentile(hits, 50)),
    cacheHitP95Ms: round(percentile(hits, 95)),
    typeThroughP95Ms: round(percentile(typeThrough, 95)),
    goalCacheHitMs: 1,
  };
}
