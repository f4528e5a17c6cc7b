import { readFile } from 'node:fs/promises';
import { ioError, UsageError } from '../util/errors';
import { parsePromptLines } from './prompts';

/**
 * Reads a prompt set (the `deploy canary --prompts` format: one prompt per line, plain text, a JSON string or
 * `{"prompt": ...}` / `{"messages": [...]}`), for `sovereign drift --prompts` and `serve --drift-baseline-prompts`.
 */
export async function readPromptFile(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw ioError(err, file);
  }
  const prompts = parsePromptLines(text);
  if (!prompts.length) throw new UsageError(`${file} holds no prompts`, 'one prompt per line: plain text, a JSON string or {"prompt": "..."}');
  return prompts;
}
