/** Params schemas of the Playground's host methods (checked by the host before dispatch). */
import type { JSONSchemaType } from 'ajv';
import { LIMITS, type ParamsSchemas } from '../shared/params-schema';
import type { ChatSettings, PlaygroundContract, SavedConversation, TurnStats } from './contract';

/** A message or an answer: long enough for a real prompt, bounded. */
export const MAX_TEXT = 200_000;
const MAX_TURNS = 500;
const id = { type: 'string', minLength: 1, maxLength: 128 } as const;
const targetId = { type: 'string', minLength: 1, maxLength: LIMITS.path } as const;
const text = { type: 'string', maxLength: MAX_TEXT } as const;
const ms = { type: 'number', minimum: 0, maximum: 1e9, nullable: true } as const;
const count = { type: 'integer', minimum: 0, maximum: 1e9, nullable: true } as const;

const settings: JSONSchemaType<ChatSettings> = {
  type: 'object',
  properties: {
    system: { type: 'string', maxLength: 20_000 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    topP: { type: 'number', minimum: 0, maximum: 1 },
    maxTokens: { type: 'integer', minimum: 1, maximum: 32_768 },
  },
  required: ['system', 'temperature', 'topP', 'maxTokens'],
  additionalProperties: false,
};

const stats: JSONSchemaType<TurnStats> = {
  type: 'object',
  properties: {
    finish: { type: 'string', enum: ['stop', 'length', 'cancelled', 'error'] },
    ttftMs: ms,
    totalMs: { type: 'number', minimum: 0, maximum: 1e9 },
    tokensPerSecond: { type: 'number', minimum: 0, maximum: 1e9, nullable: true },
    promptTokens: count,
    completionTokens: count,
    template: { type: 'string', maxLength: LIMITS.name, nullable: true },
    redactions: { type: 'integer', minimum: 0, maximum: 1e9 },
    error: { type: 'string', maxLength: 2_000, nullable: true },
    firstPaintMs: ms,
    firstTextMs: ms,
  },
  required: ['finish', 'totalMs', 'redactions'],
  additionalProperties: false,
};

const conversation: JSONSchemaType<SavedConversation> = {
  type: 'object',
  properties: {
    mode: { type: 'string', enum: ['single', 'compare'] },
    targets: { type: 'array', maxItems: 2, items: targetId },
    settings,
    columns: {
      type: 'array',
      maxItems: 2,
      items: {
        type: 'array',
        maxItems: MAX_TURNS,
        items: {
          type: 'object',
          properties: { role: { type: 'string', enum: ['user', 'assistant'] }, text, target: { ...targetId, nullable: true }, stats: { ...stats, nullable: true } },
          required: ['role', 'text'],
          additionalProperties: false,
        },
      },
    },
  },
  required: ['mode', 'targets', 'settings', 'columns'],
  additionalProperties: false,
};

export const PLAYGROUND_PARAMS: ParamsSchemas<PlaygroundContract> = {
  send: {
    type: 'object',
    properties: {
      turnId: id,
      target: targetId,
      column: { type: 'integer', minimum: 0, maximum: 1 },
      settings,
      messages: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_TURNS,
        items: { type: 'object', properties: { role: { type: 'string', enum: ['user', 'assistant'] }, text }, required: ['role', 'text'], additionalProperties: false },
      },
      surface: { type: 'string', enum: ['playground', 'compare'] },
    },
    required: ['turnId', 'target', 'column', 'settings', 'messages', 'surface'],
    additionalProperties: false,
  },
  stop: { type: 'object', properties: { turnId: id }, required: ['turnId'], additionalProperties: false },
  saveConversation: conversation,
  copyCode: { type: 'object', properties: { code: text }, required: ['code'], additionalProperties: false },
  insertCode: { type: 'object', properties: { code: text }, required: ['code'], additionalProperties: false },
  openLink: { type: 'object', properties: { href: { type: 'string', minLength: 1, maxLength: 8_192 } }, required: ['href'], additionalProperties: false },
  savePromptSet: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      prompts: { type: 'array', minItems: 1, maxItems: MAX_TURNS, items: text },
      maxTokens: { type: 'integer', minimum: 1, maximum: 32_768 },
    },
    required: ['name', 'prompts', 'maxTokens'],
    additionalProperties: false,
  },
  refresh: null,
};
