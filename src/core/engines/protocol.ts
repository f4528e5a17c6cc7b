/**
 * Typed IPC between the EngineSupervisor (parent) and the engine host (child process). Every request carries an
 * id; the child answers with exactly one `result` or `error` for that id, and may send `token` messages before it
 * (streaming). `cancel` names the id of the request to stop.
 */
import type {
  ChatRequest,
  CompletionRequest,
  EmbeddingResult,
  EngineHealth,
  EngineKind,
  EngineLoadOptions,
  GenerationResult,
  InfillRequest,
  JsonTensor,
  ModelDescription,
  PredictResult,
} from './types';

/** Request payloads and their result types, by method. */
export interface EngineMethods {
  /** `sha256`: the digest validation recorded; the child hashes the file again and refuses a difference. */
  load: { params: { path: string; kind: EngineKind; options: EngineLoadOptions; fimFamily?: string; sha256: string }; result: ModelDescription };
  complete: { params: CompletionRequest; result: GenerationResult };
  infill: { params: InfillRequest; result: GenerationResult };
  chat: { params: ChatRequest; result: GenerationResult };
  embed: { params: { texts: string[] }; result: EmbeddingResult };
  tokenize: { params: { text: string }; result: { tokens: number } };
  predict: { params: { inputs: Record<string, JsonTensor>; outputs?: string[] }; result: PredictResult };
  health: { params: Record<string, never>; result: EngineHealth };
  /** Test hook, honoured only when the child runs with SOVEREIGN_ENGINE_TEST_HOOKS=1: crashes the way llama.cpp does. */
  crash: { params: { how: 'abort' | 'exit' }; result: never };
}

export type EngineMethod = keyof EngineMethods;

export type ParentMessage =
  /** `stream: false`: the parent has no use for `token` messages (a non-streaming request): the child sends none. */
  | { type: 'request'; id: number; method: EngineMethod; params: unknown; stream?: boolean }
  | { type: 'cancel'; id: number }
  | { type: 'shutdown' };

export type ChildMessage =
  | { type: 'ready'; pid: number }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; message: string; name: string; hint?: string }
  | { type: 'token'; id: number; text: string };
