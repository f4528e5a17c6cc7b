/**
 * What a file's NAME claims, checked against what its BYTES are. Detection is by content (detect.ts), but
 * loaders choose by name: `torch.load("model.pt")`, `llama.cpp -m model.gguf`, `joblib.load("m.pkl")`. A file
 * named like a model whose content the scanner does not recognise, or recognises as something else, is
 * exactly what a loader would still open; it must never pass as "OK (unknown)" (the gate would fail open).
 *
 * - name claims a model format, bytes are another format: `format/mismatch` (high)
 * - name claims a model format, bytes are not recognised: `format/unknown` (high)
 * - a name a pickle loader opens (.pt, .pth, .ckpt, .bin, .pkl, .pickle, .joblib) with bytes the detector
 *   does not recognise is walked as a pickle anyway (index.ts): `pickle.load` reads from the first byte and
 *   ignores what follows STOP, so a protocol 0 pickle with bytes appended is still a pickle to the loader.
 * - `.bin` is the generic binary extension (pytorch_model.bin, but also ONNX external data, raw tensor
 *   shards): any recognised format is accepted and unrecognised bytes that are not a pickle pass.
 * - a name that claims nothing (README, config.json, tokenizer.model, weights.onnx_data...) gets no finding
 *   whatever its bytes: loaders open model files by their model names, and those are what is checked here.
 */
import type { Finding } from './findings';
import type { ModelFormat } from './types';

interface Claim {
  /** How people name the format. */
  label: string;
  /** The content formats a loader of this name accepts. */
  accepts: readonly ModelFormat[];
  /** A format the scanner cannot check at all (the bytes are never recognised). */
  unsupported?: boolean;
  /** Unrecognised bytes are not a finding (a generic extension). */
  unknownOk?: boolean;
}

const TORCH: Claim = { label: 'a PyTorch checkpoint (torch.save: a zip with data.pkl, or a legacy pickle)', accepts: ['pytorch-zip', 'pickle'] };
/** joblib.load and pickle-based loaders also open these compressed (joblib detects the compressor by content). */
const PICKLE: Claim = { label: 'a pickle (or a joblib dump)', accepts: ['pickle', 'joblib', 'gzip', 'bz2', 'xz'] };

/** Model extensions, lower case, without the dot. */
const CLAIMS: ReadonlyMap<string, Claim> = new Map<string, Claim>([
  ['gguf', { label: 'GGUF', accepts: ['gguf'] }],
  ['onnx', { label: 'ONNX', accepts: ['onnx'] }],
  ['ort', { label: 'ONNX Runtime', accepts: ['onnx'] }],
  ['safetensors', { label: 'safetensors', accepts: ['safetensors'] }],
  ['pt', TORCH],
  ['pth', TORCH],
  ['ckpt', TORCH],
  // pytorch_model.bin (torch.load), but also raw ONNX external data, ggml files, tensor shards.
  ['bin', { label: 'a binary model file (pytorch_model.bin: a PyTorch checkpoint)', accepts: ['gguf', 'onnx', 'safetensors', 'pickle', 'pytorch-zip', 'numpy', 'npz', 'keras', 'hdf5', 'joblib', 'gzip', 'bz2', 'xz', 'zip'], unknownOk: true }],
  ['pkl', PICKLE],
  ['pickle', PICKLE],
  ['joblib', PICKLE],
  ['dill', PICKLE],
  // Generic data names that picklescan and modelscan open as pickles: recognised formats are accepted,
  // unrecognised bytes are walked as a pickle (and pass when they are not one), as for .bin.
  ['dat', { label: 'a data file (.dat: opened as a pickle by pickle-based loaders)', accepts: ['pickle', 'joblib', 'gzip', 'bz2', 'xz', 'numpy', 'npz', 'zip', 'pytorch-zip', 'safetensors', 'gguf', 'onnx', 'hdf5', 'keras'], unknownOk: true }],
  ['data', { label: 'a data file (.data: opened as a pickle by pickle-based loaders)', accepts: ['pickle', 'joblib', 'gzip', 'bz2', 'xz', 'numpy', 'npz', 'zip', 'pytorch-zip', 'safetensors', 'gguf', 'onnx', 'hdf5', 'keras'], unknownOk: true }],
  ['npy', { label: 'a NumPy array (.npy)', accepts: ['numpy'] }],
  ['npz', { label: 'a NumPy archive (.npz: a zip of .npy)', accepts: ['npz'] }],
  ['h5', { label: 'HDF5 (Keras .h5)', accepts: ['hdf5'] }],
  ['hdf5', { label: 'HDF5', accepts: ['hdf5'] }],
  ['keras', { label: 'a Keras archive (.keras)', accepts: ['keras', 'hdf5'] }],
  // Model formats this scanner cannot read: a file named so is a model nobody checked.
  ['tflite', { label: 'TensorFlow Lite', accepts: [], unsupported: true }],
  ['mlmodel', { label: 'Core ML', accepts: [], unsupported: true }],
  // A TensorFlow SavedModel graph: modelscan looks for file-reading/writing ops in it; this scanner cannot read it.
  ['pb', { label: 'a TensorFlow SavedModel graph (saved_model.pb)', accepts: [], unsupported: true }],
]);

/** Compression suffixes: `model.pkl.gz` claims a pickle inside a gzip. */
const WRAPPERS: ReadonlyMap<string, readonly ModelFormat[]> = new Map<string, readonly ModelFormat[]>([
  ['gz', ['gzip']],
  ['gzip', ['gzip']],
  ['bz2', ['bz2']],
  ['xz', ['xz']],
  ['lzma', ['xz', 'joblib']],
  ['z', ['joblib']],
  ['lz4', ['joblib']],
]);

/** The last name in a path (`a/b/model.pt`, `archive.zip!dir/model.pt`). */
export function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'), path.lastIndexOf('!'));
  return path.slice(i + 1);
}

function extensionOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : undefined;
}

/** Strips one compression suffix (`model.pkl.gz` -> `model.pkl`), or undefined when there is none. */
export function innerName(name: string): string | undefined {
  const ext = extensionOf(name);
  return ext !== undefined && WRAPPERS.has(ext) ? name.slice(0, name.length - ext.length - 1) : undefined;
}

export interface NameClaim {
  /** The extension that makes the claim (`pt`, or `pkl` for `model.pkl.gz`). */
  extension: string;
  label: string;
  accepts: readonly ModelFormat[];
  unsupported: boolean;
  unknownOk: boolean;
}

/** The model format a file name claims, if any. */
export function claimOf(name: string): NameClaim | undefined {
  const ext = extensionOf(name);
  if (ext === undefined) return undefined;
  const direct = CLAIMS.get(ext);
  if (direct) return { extension: ext, label: direct.label, accepts: direct.accepts, unsupported: direct.unsupported ?? false, unknownOk: direct.unknownOk ?? false };
  const wrapper = WRAPPERS.get(ext);
  const stem = innerName(name);
  if (!wrapper || stem === undefined) return undefined;
  const inner = claimOf(stem);
  // model.pkl.gz: the outer bytes must be the wrapper (the inner bytes are checked under the stem's name).
  return inner ? { extension: `${inner.extension}.${ext}`, label: `${inner.label}, ${ext}-compressed`, accepts: [...wrapper, ...inner.accepts], unsupported: inner.unsupported, unknownOk: false } : undefined;
}

const FORMAT_NAMES: Partial<Record<ModelFormat, string>> = {
  'pytorch-zip': 'a PyTorch zip archive',
  numpy: 'a NumPy array',
  npz: 'a NumPy archive',
  keras: 'a Keras archive',
  zip: 'a zip archive (not a PyTorch, Keras or NumPy archive)',
};

function describeFormat(format: ModelFormat): string {
  return FORMAT_NAMES[format] ?? `${format === 'onnx' ? 'an' : 'a'} ${format} file`;
}

/** True when a pickle loader opens files of this name (unrecognised bytes are then walked as a pickle). */
export function pickleLoaderName(name: string): boolean {
  return claimOf(baseName(name))?.accepts.includes('pickle') ?? false;
}

/** Findings that compare a file's name (`path`'s last part) with the format its content was found to be. */
export function claimFindings(path: string, format: ModelFormat, location = path): Finding[] {
  const claim = claimOf(baseName(path));
  if (claim) {
    if (claim.accepts.includes(format)) return [];
    if (format === 'unknown') {
      if (claim.unknownOk) return [];
      return [
        {
          rule: 'format/unknown',
          severity: 'high',
          message: claim.unsupported
            ? `named as ${claim.label} (.${claim.extension}), a model format this scanner cannot check: an unvetted model file`
            : `named as ${claim.label} (.${claim.extension}), but its bytes are not recognised as any model format: a loader that trusts the name would still open it`,
          location,
        },
      ];
    }
    return [
      {
        rule: 'format/mismatch',
        severity: 'high',
        message: `named as ${claim.label} (.${claim.extension}), but its bytes are ${describeFormat(format)}: a loader chooses by the name, the scanner by the content`,
        location,
      },
    ];
  }
  return [];
}
