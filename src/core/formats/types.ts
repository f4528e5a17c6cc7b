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
  /**
   * Strings the format carries in its metadata (GGUF string KVs and chat templates, ONNX metadata_props and
   * doc strings, safetensors __metadata__), decoded, for the rule stage. Not part of any report.
   */
  texts?: MetadataText[];
  /** A container that already ran the rule stage over its own bytes and members (zip): no second byte pass. */
  rulesCovered?: boolean;
}

/** One metadata string, named by its key (`tokenizer.chat_template`, `metadata_props.author`...). */
export interface MetadataText {
  key: string;
  value: string;
}

/**
 * The malware-rule stage (YARA rules, src/core/scan/rules.ts), handed down to the formats the way the
 * dispatcher is handed to containers, so this floor need not import the scanner's.
 */
export interface RuleStage {
  /**
   * Runs the rules over the bytes of `source` (in overlapping chunks, constant memory) and over `texts`.
   * One finding per rule that matched, at its first match. Offsets are reported relative to the source
   * plus `baseOffset` (a slice of an archive names archive offsets).
   */
  scan(source: ByteSource, request: { format: ModelFormat; texts?: readonly MetadataText[]; baseOffset?: number; signal?: AbortSignal }): Promise<Finding[]>;
}

export interface AnalyzeOptions {
  /** Aborts long analyses (the extension's Cancel button, CLI Ctrl-C). */
  signal?: AbortSignal;
  /** The rule stage to run on every source analysed, members included (absent: no rules run). */
  rules?: RuleStage;
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
