/**
 * The Playground's message contract (docs/chat.md): the webview holds the conversation and the form; the
 * host runs each turn (a `sovereign serve` child of a policy-admitted registered version, or an HTTP
 * backend), streams the answer back as `delta` notifications and ends it with `done` and its figures.
 */
import type { ViewContract } from '../shared/ipc';

/** Something to chat with: a registered version (started on first use) or a running backend. */
export interface PlaygroundTarget {
  /** `version:NAME@VERSION` or `backend:URL`. */
  id: string;
  kind: 'version' | 'backend';
  label: string;
  /** False for a version the workspace policy refuses: listed, never selectable. */
  admitted: boolean;
  /** Why it is refused. */
  reason?: string;
  /** Aliases, "running", "remote: redacted"... */
  detail?: string;
}

export interface ChatSettings {
  system: string;
  temperature: number;
  topP: number;
  maxTokens: number;
}

/** The figures of one answer. */
export interface TurnStats {
  finish: 'stop' | 'length' | 'cancelled' | 'error';
  ttftMs?: number;
  totalMs: number;
  tokensPerSecond?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Which chat template rendered the prompt (the model's own), when the server says. */
  template?: string;
  /** Secrets and personal data replaced before the turn left this machine (HTTP backends). */
  redactions: number;
  error?: string;
  /** Send to the first answer text rendered in this view (in the DOM; measured by the view itself). */
  firstPaintMs?: number;
  /** Send to the first answer text arriving in this view (the host's way and back included). */
  firstTextMs?: number;
}

export interface SavedTurn {
  role: 'user' | 'assistant';
  text: string;
  /** The target that answered (assistant turns). */
  target?: string;
  stats?: TurnStats;
}

/** The conversation as saved per workspace (workspaceState) and in the view's state. */
export interface SavedConversation {
  mode: 'single' | 'compare';
  /** The chosen target of each column (the second is used in compare mode). */
  targets: string[];
  settings: ChatSettings;
  /** One list of turns per column; single mode uses the first. */
  columns: SavedTurn[][];
}

export type PlaygroundState =
  | { kind: 'loading' }
  | { kind: 'ready'; targets: PlaygroundTarget[]; conversation?: SavedConversation; note?: string; /** A target to choose now (Chat in Playground on a version). */ select?: string };

export interface SendParams {
  /** Chosen by the view; names the `delta`/`done` notifications of this answer. */
  turnId: string;
  target: string;
  column: number;
  settings: ChatSettings;
  /** The conversation of this column so far, ending with the new user message. */
  messages: { role: 'user' | 'assistant'; text: string }[];
  /** compare: the same prompt went to both columns. */
  surface: 'playground' | 'compare';
}

export interface PlaygroundContract extends ViewContract {
  host: {
    /** Starts a turn: answers once it is under way (or why it cannot be), then `delta`s and one `done` follow. */
    send: (params: SendParams) => { ok: true } | { ok: false; message: string };
    /** Stops a running turn (the engine stops generating). */
    stop: (params: { turnId: string }) => void;
    /** Keeps the conversation for this workspace (restored after a reload). */
    saveConversation: (params: SavedConversation) => void;
    /** Clipboard and editor: a code block's text. */
    copyCode: (params: { code: string }) => void;
    insertCode: (params: { code: string }) => { ok: boolean; message?: string };
    /** A link in an answer: opened only after the person confirms (http/https only). */
    openLink: (params: { href: string }) => void;
    /** Writes `.sovereign/prompts/NAME.jsonl` for `deploy canary --prompts`. */
    savePromptSet: (params: { name: string; prompts: string[]; maxTokens: number }) => { ok: true; file: string } | { ok: false; message: string };
    refresh: (params: undefined) => void;
  };
  toWebview: {
    state: PlaygroundState;
    delta: { turnId: string; text: string };
    done: { turnId: string; stats: TurnStats };
  };
  toHost: Record<string, never>;
}

/** The view's own state (setState): the conversation and the unsent draft. */
export interface PlaygroundViewState extends SavedConversation {
  draft: string;
}
