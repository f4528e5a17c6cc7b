/**
 * Measures what the engine really uses for a GGUF model: the supervised engine child's peak resident set
 * (VmHWM from /proc/PID/status) after loading the model and evaluating one full micro-batch of prompt plus a
 * few generated tokens (so the KV cache, the compute buffers and every weight page have been touched).
 */
import { readFile } from 'node:fs/promises';
import { EngineSupervisor } from '../../../src/core/engines/supervisor';
import { sha256File } from '../../../src/core/hash/sha256';

export interface Measured {
  peakRssBytes: number;
  rssBytes: number;
}

async function procStatus(pid: number): Promise<Record<string, number>> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(Vm\w+|Rss\w+):\s+(\d+) kB/gm)) out[m[1]] = Number(m[2]) * 1024;
  return out;
}

export async function measureEngine(path: string, contextSize: number, promptTokens = 512): Promise<Measured> {
  const engine = new EngineSupervisor({ healthIntervalMs: 60_000 });
  try {
    await engine.start({ path, kind: 'gguf', sha256: await sha256File(path), options: { contextSize, threads: 1, gpu: false } });
    // Letters are single tokens in the random llama's vocabulary: a prompt of `promptTokens` tokens.
    const prompt = Array.from({ length: Math.min(promptTokens, contextSize - 16) - 1 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz'[i % 26]).join('');
    await engine.complete({ prompt, maxTokens: 4, temperature: 0 });
    const status = await procStatus(engine.pid!);
    return { peakRssBytes: status.VmHWM, rssBytes: status.VmRSS };
  } finally {
    await engine.stop();
  }
}
