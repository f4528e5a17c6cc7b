/**
 * Fill-in-the-middle prompt templates by model family: the one table shared by the GGUF engine (models without
 * FIM token ids in their metadata), `sovereign serve`'s `/infill` and `suffix`, and the inline completion code.
 * The strings are exact: a space or a bar out of place and a FIM-trained model writes nonsense.
 *
 *  - Qwen2.5-Coder, CodeGemma: `<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>`
 *  - StarCoder / StarCoder2:   `<fim_prefix>P<fim_suffix>S<fim_middle>`
 *  - CodeLlama 7B/13B:         `<PRE> P <SUF>S <MID>` (34B/70B and the Python variants have no FIM)
 *  - DeepSeek-Coder:           `<｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>` (fullwidth bars, U+2581)
 *  - Codestral:                `[SUFFIX]S[PREFIX]P` (suffix first: "SPM" order)
 */

export interface FimTemplate {
  /** Stable id, e.g. 'qwen2.5-coder'. */
  family: string;
  /** For people. */
  label: string;
  /** Matched (case-insensitive) against the model's general.name, basename or file name. */
  namePattern: RegExp;
  /** A special token whose presence in the vocabulary identifies the family. */
  marker: string;
  /** 'psm': prefix, suffix, middle. 'spm': suffix first (Codestral). */
  order: 'psm' | 'spm';
  prefixToken: string;
  suffixToken: string;
  middleToken: string;
  /** Text placed between the prefix marker and the prefix (CodeLlama's single space). */
  prefixSeparator?: string;
  /** Text placed before the middle marker (CodeLlama's single space). */
  middleSeparator?: string;
  /** Generation stops at any of these (end of the infilled span or a new file). */
  stop: string[];
  /** How one extra context file is written before the prefix, when the family has a file separator. */
  fileHeader?: (filename: string) => string;
}

export const FIM_TEMPLATES: readonly FimTemplate[] = [
  {
    family: 'qwen2.5-coder',
    label: 'Qwen2.5-Coder',
    namePattern: /qwen.*coder/i,
    marker: '<|fim_prefix|>',
    order: 'psm',
    prefixToken: '<|fim_prefix|>',
    suffixToken: '<|fim_suffix|>',
    middleToken: '<|fim_middle|>',
    stop: ['<|endoftext|>', '<|fim_pad|>', '<|file_sep|>', '<|repo_name|>', '<|im_end|>'],
    fileHeader: (filename) => `<|file_sep|>${filename}\n`,
  },
  {
    family: 'codegemma',
    label: 'CodeGemma',
    namePattern: /codegemma/i,
    marker: '<|fim_prefix|>',
    order: 'psm',
    prefixToken: '<|fim_prefix|>',
    suffixToken: '<|fim_suffix|>',
    middleToken: '<|fim_middle|>',
    stop: ['<|file_separator|>', '<eos>', '<end_of_turn>'],
    fileHeader: (filename) => `<|file_separator|>${filename}\n`,
  },
  {
    family: 'starcoder',
    label: 'StarCoder / StarCoder2',
    namePattern: /star\s*coder/i,
    marker: '<fim_prefix>',
    order: 'psm',
    prefixToken: '<fim_prefix>',
    suffixToken: '<fim_suffix>',
    middleToken: '<fim_middle>',
    stop: ['<|endoftext|>', '<file_sep>', '<fim_prefix>'],
    fileHeader: (filename) => `<file_sep>${filename}\n`,
  },
  {
    family: 'codellama',
    label: 'CodeLlama (7B/13B)',
    namePattern: /code\s*llama/i,
    marker: '<PRE>',
    order: 'psm',
    prefixToken: '<PRE>',
    suffixToken: ' <SUF>',
    middleToken: '<MID>',
    prefixSeparator: ' ',
    middleSeparator: ' ',
    stop: ['<EOT>', '</s>'],
  },
  {
    family: 'deepseek-coder',
    label: 'DeepSeek-Coder',
    namePattern: /deepseek.*coder/i,
    marker: '<｜fim▁begin｜>',
    order: 'psm',
    prefixToken: '<｜fim▁begin｜>',
    suffixToken: '<｜fim▁hole｜>',
    middleToken: '<｜fim▁end｜>',
    stop: ['<|EOT|>', '<｜end▁of▁sentence｜>'],
  },
  {
    family: 'codestral',
    label: 'Codestral',
    namePattern: /codestral/i,
    marker: '[SUFFIX]',
    order: 'spm',
    prefixToken: '[PREFIX]',
    suffixToken: '[SUFFIX]',
    middleToken: '',
    stop: ['</s>', '[SUFFIX]', '[PREFIX]'],
  },
];

export function getFimTemplate(family: string): FimTemplate | undefined {
  return FIM_TEMPLATES.find((t) => t.family === family);
}

export interface FimHints {
  /** general.name, general.basename, or the file name. */
  names?: (string | undefined)[];
  /** Whether the vocabulary holds this exact token text (a special token of the family). */
  hasToken?: (text: string) => boolean;
}

/**
 * The template for a model: by name first (CodeGemma and Qwen share markers), then by a marker token in the
 * vocabulary. Undefined when nothing matches: such a model gets no FIM (instruct models usually have none).
 */
export function findFimTemplate(hints: FimHints): FimTemplate | undefined {
  for (const name of hints.names ?? []) {
    if (!name) continue;
    const byName = FIM_TEMPLATES.find((t) => t.namePattern.test(name));
    if (byName) return byName;
  }
  if (hints.hasToken) return FIM_TEMPLATES.find((t) => hints.hasToken!(t.marker));
  return undefined;
}

export interface FimInput {
  prefix: string;
  suffix: string;
  /** Other files as context, written before the prefix when the family has a file separator. */
  extra?: { filename?: string; text: string }[];
}

/** The exact prompt text for a template. */
export function buildFimPrompt(t: FimTemplate, input: FimInput): string {
  const context = (input.extra ?? [])
    .filter((chunk) => t.fileHeader && chunk.text)
    .map((chunk) => t.fileHeader!(chunk.filename ?? 'context') + chunk.text + (chunk.text.endsWith('\n') ? '' : '\n'))
    .join('');
  const prefix = `${t.prefixToken}${t.prefixSeparator ?? ''}${input.prefix}`;
  const suffix = `${t.suffixToken}${input.suffix}`;
  const middle = `${t.middleSeparator ?? ''}${t.middleToken}`;
  return t.order === 'spm' ? `${context}${suffix}${prefix}` : `${context}${prefix}${suffix}${middle}`;
}
