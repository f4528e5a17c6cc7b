import type { Finding } from './findings';
import type { ByteSource } from './source';

/** Formats detected by content (never by file extension). */
export type ModelFormat =
  | 'gguf'
  | 'onnx'
  | 'safetensors'
  | 'pickle'
  | 'pytorch-zip'
  | 'numpy'
  | 'npz'
  | 'keras'
  | 'hdf5'
  | 'joblib'
  | 'gzip'
  | 'bz2'
  | 'xz'
  | 'zip'
  | 'unknown';

/** What a format reader learned about a file: facts for `inspect`, findings for `scan`. */
export interface FormatAnalysis {
  format: ModelFormat;
  /** Format facts for people and for the registry (JSON-serialisable). */
  facts: Record<string, unknown>;
  findings: Finding[];
}

export interface AnalyzeOptions {
  /** Aborts long analyses (the extension's Cancel button, CLI Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * A format analyzer. It treats the file as untrusted input: bounded reads, every length checked, and it
 * never throws for malformed content; a malformed structure is a `high` finding (fail closed).
 */
export type Analyzer = (source: ByteSource, options: AnalyzeOptions) => Promise<FormatAnalysis>;

/**
 * How a container (zip, gzip/bz2/xz) analyses what it holds: the dispatcher (`analyzeSource`) hands itself
 * down, so the containers need not import the module that imports them.
 */
export type ContainerAnalyzer = (source: ByteSource, options: AnalyzeOptions, analyzeMember: Analyzer) => Promise<FormatAnalysis>;
