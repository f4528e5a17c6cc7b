/**
 * "Save as canary prompt set": the prompts of a comparison written where `sovereign deploy canary --prompts`
 * (and `drift --prompts`, `serve --drift-baseline-prompts`) read them: one JSON line per prompt,
 * `{"prompt": "...", "max_tokens": N}` (docs/deploy.md). Files go to `.sovereign/prompts/NAME.jsonl`.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeAtomic } from '../workspace/atomic-write';
import { SOVEREIGN_DIR } from '../workspace/workspace';
import { ioError, UsageError } from '../util/errors';

export const PROMPTS_DIR = `${SOVEREIGN_DIR}/prompts`;

/** The prompt set's text: one `{"prompt", "max_tokens"}` JSON line per distinct, non-empty prompt, in order. */
export function promptSetText(prompts: readonly string[], maxTokens?: number): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const p of prompts) {
    if (!p.trim() || seen.has(p)) continue;
    seen.add(p);
    lines.push(JSON.stringify(maxTokens !== undefined ? { prompt: p, max_tokens: maxTokens } : { prompt: p }));
  }
  if (!lines.length) throw new UsageError('there is no prompt to save', 'send at least one prompt in the comparison first');
  return lines.join('\n') + '\n';
}

/** A file name for the set: letters, digits, `.`, `_`, `-` (no path). */
export function promptSetName(name: string): string {
  const cleaned = name.trim().replace(/\.jsonl$/i, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$/.test(cleaned)) {
    throw new UsageError(`"${name.slice(0, 100)}" is not a prompt set name`, 'use letters, digits, ".", "_" and "-" (at most 81 characters, no path)');
  }
  return cleaned;
}

/** Writes `.sovereign/prompts/NAME.jsonl` (atomically); returns its repository-relative path. */
export async function savePromptSet(workspaceRoot: string, name: string, prompts: readonly string[], maxTokens?: number): Promise<string> {
  const rel = `${PROMPTS_DIR}/${promptSetName(name)}.jsonl`;
  const file = join(workspaceRoot, rel);
  const text = promptSetText(prompts, maxTokens);
  try {
    await mkdir(dirname(file), { recursive: true });
  } catch (err) {
    throw ioError(err, dirname(file), 'create');
  }
  await writeAtomic(file, text);
  return rel;
}
