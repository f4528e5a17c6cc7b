import * as vscode from 'vscode';
import { DEFAULT_COMPLETION_SETTINGS, type CompletionSettings } from '../../core/completion/service';
import { DEFAULT_SECRET_FILE_PATTERNS } from '../../core/redact';
import type { BackendKind } from '../../core/completion/types';

export interface CompletionConfig {
  enabled: boolean;
  backend: BackendKind;
  url: string;
  model: string;
  modelPath: string;
  openaiMode: 'suffix' | 'template';
  ignoredFiles: string[];
  service: CompletionSettings;
}

/** Reads `sovereign.completion.*` (defaults live in package.json, mirrored here for the core). */
export function readCompletionConfig(): CompletionConfig {
  const c = vscode.workspace.getConfiguration('sovereign.completion');
  const d = DEFAULT_COMPLETION_SETTINGS;
  return {
    enabled: c.get('enabled', true),
    backend: c.get<BackendKind>('backend', 'embedded'),
    url: c.get('url', 'http://127.0.0.1:8012'),
    model: c.get('model', ''),
    modelPath: c.get('modelPath', ''),
    openaiMode: c.get<'suffix' | 'template'>('openaiMode', 'suffix'),
    ignoredFiles: c.get<string[]>('ignoredFiles', [...DEFAULT_SECRET_FILE_PATTERNS]),
    service: {
      ...d,
      maxTokens: c.get('maxTokens', d.maxTokens),
      maxTimeMs: c.get('maxTimeMs', d.maxTimeMs),
      temperature: c.get('temperature', d.temperature),
      speculative: c.get('speculative', d.speculative),
      context: {
        prefixTokens: c.get('prefixTokens', d.context.prefixTokens),
        suffixTokens: c.get('suffixTokens', d.context.suffixTokens),
        extraTokens: c.get('extraTokens', d.context.extraTokens),
        redactSecrets: c.get('redactSecrets', d.context.redactSecrets),
      },
      debounce: { ...d.debounce, minMs: c.get('debounceMinMs', d.debounce.minMs), maxMs: c.get('debounceMaxMs', d.debounce.maxMs) },
    },
  };
}
