/** Inline completion: the vocabulary shared by the context builder, the backends and the extension provider. */

/** Just enough of a text document: the extension passes VS Code's TextDocument, tests a string. */
export interface DocumentLike {
  readonly lineCount: number;
  lineText(line: number): string;
}

export interface CursorPosition {
  line: number;
  character: number;
}

/**
 * The document as it will be once `text` is inserted at `pos` (an accepted suggestion), and the cursor after it:
 * an overlay that reads the lines it changes from the insertion and every other line from `doc`.
 */
export function withInserted(doc: DocumentLike, pos: CursorPosition, text: string): { doc: DocumentLike; pos: CursorPosition } {
  const line = doc.lineText(pos.line);
  const inserted = (line.slice(0, pos.character) + text + line.slice(pos.character)).split('\n');
  const added = inserted.length - 1;
  const lastInserted = text.split('\n').at(-1)!;
  return {
    doc: {
      lineCount: doc.lineCount + added,
      lineText: (i) => (i < pos.line ? doc.lineText(i) : i <= pos.line + added ? inserted[i - pos.line] : doc.lineText(i - added)),
    },
    pos: { line: pos.line + added, character: added ? lastInserted.length : pos.character + text.length },
  };
}

/** A chunk of another file used as extra context (llama.vscode's ring buffer of ~32-line chunks). */
export interface ContextChunk {
  filename: string;
  text: string;
}

/** What is sent to a backend for one completion, after windows, redaction and secret-file filtering. */
export interface FimContext {
  /** Lines above the cursor line (the prefix window), ending with a newline when not empty. */
  prefixAbove: string;
  /** The cursor line up to the cursor. */
  linePrefix: string;
  /** The cursor line after the cursor. */
  lineSuffix: string;
  /** Lines below the cursor line (the suffix window), starting after the cursor line's newline. */
  suffixBelow: string;
  extra: ContextChunk[];
  /** Whether a multi-line suggestion fits here (an empty line, or right after a block opener). */
  multiline: boolean;
  /** How many secrets were redacted from this context before it left the editor. */
  redactions: number;
}

export function fullPrefix(c: FimContext): string {
  return c.prefixAbove + c.linePrefix;
}

export function fullSuffix(c: FimContext): string {
  return c.lineSuffix + (c.suffixBelow ? '\n' + c.suffixBelow : '');
}

export interface BackendTimings {
  promptTokens?: number;
  promptMs?: number;
  predictedTokens?: number;
  predictedMs?: number;
  tokensPerSecond?: number;
}

export interface BackendResult {
  text: string;
  timings?: BackendTimings;
}

export interface BackendRequest {
  context: FimContext;
  maxTokens: number;
  /** Generation time budget in ms (llama-server's t_max_predict_ms). */
  maxTimeMs: number;
  temperature: number;
  stop: string[];
}

/** One way to reach a model: the embedded engine, llama-server, an OpenAI-compatible server, Ollama, staging. */
export interface CompletionBackend {
  readonly kind: BackendKind;
  /** For the status bar and logs. */
  readonly label: string;
  /** The base URL requests go to (checked against the policy's allowed endpoints first). */
  readonly baseUrl: string;
  complete(request: BackendRequest, signal: AbortSignal): Promise<BackendResult>;
}

export type BackendKind = 'embedded' | 'llama-server' | 'openai' | 'ollama' | 'staging';

/** Raised when the chosen model cannot do fill-in-the-middle (an instruct model, a server without /infill). */
export class NoFimSupportError extends Error {
  constructor(readonly backend: string, detail: string) {
    super(`${backend} cannot do fill-in-the-middle: ${detail}. Choose a base code model with FIM tokens (e.g. Qwen2.5-Coder base, StarCoder2, CodeLlama 7B/13B, DeepSeek-Coder base).`);
    this.name = 'NoFimSupportError';
  }
}
