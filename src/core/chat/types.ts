/**
 * The chat vocabulary shared by the Playground, VS Code's language-model provider and the tests: one turn
 * of a conversation sent to an OpenAI-compatible `/v1/chat/completions` (a local `sovereign serve` child or
 * a backend someone runs) and what came back, with its figures.
 */
import type { ChatMessage } from '../engines/types';

export type { ChatMessage };

/** Where a turn goes. */
export interface ChatTarget {
  /** Base URL of an OpenAI-compatible server (`http://127.0.0.1:PORT`), without `/v1`. */
  url: string;
  /** What the audit log and the figures call it: NAME@VERSION of a registered version, or the backend's label. */
  label: string;
  /**
   * True when the model runs in this process's care (a `sovereign serve` child this window started from a
   * registered, policy-admitted version): nothing leaves the machine. False for any other backend: every
   * message is redacted before it is sent (docs/chat.md).
   */
  local: boolean;
  /** `model` field of the request (servers with several models); default: none. */
  model?: string;
  /** Bearer token of the backend (never logged). */
  apiKey?: string;
  /** The registered version's digest, for the audit log. */
  digest?: string;
}

export interface ChatSampling {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
}

export interface ChatTurnRequest extends ChatSampling {
  messages: ChatMessage[];
}

export type ChatFinish = 'stop' | 'length' | 'cancelled' | 'error';

/** One answer and its figures, measured on the client side (Send to first text, to the end). */
export interface ChatTurnResult {
  text: string;
  finish: ChatFinish;
  /** Tokens of the prompt and of the answer as the server counted them (its `usage`), when it said. */
  promptTokens?: number;
  completionTokens?: number;
  /** From the request leaving this process to the first piece of answer text arriving. */
  ttftMs?: number;
  /** From the request leaving to the end of the answer. */
  totalMs: number;
  /** Answer tokens after the first, per second after the first (undefined below two tokens). */
  tokensPerSecond?: number;
  /** Secrets and personal data replaced before sending (0 for a local model: nothing was sent away). */
  redactions: number;
  redactedKinds: string[];
  /** The server's error message when `finish` is `error`. */
  error?: string;
}
