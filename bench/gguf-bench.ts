/**
 * GGUF header parsing cost vs file size: it should follow the size of the METADATA, not of the file.
 *
 * Three files, generated: the tiny llama (~320 KB, 600-token vocab); a sparse ~4 GB llama-7B-shaped file
 * (Q4_K tensors) with the same small vocabulary; and the same 4 GB shape with a 256,000-token tokenizer
 * (tokens, scores, token types, 250,000 merges: ~10 MB of metadata, Gemma-sized). The 4 GB files are
 * sparse (`truncate`): they take no disk space and the reader never touches their data.
 */
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectGguf } from '../src/core/formats/gguf';
import { FileSource } from '../src/core/formats/source';
import { readGgufHeader } from '../src/core/formats/gguf/reader';
import { buildGguf, type GgufWriteTensor, type GgufWriteValue } from '../test/fixtures/gguf/writer';
import { buildTinyLlama } from '../test/fixtures/gguf/tiny-llama';
import { median, round } from './util';

const RUNS = 7;

function llama7bShape(vocab: number, bigTokenizer: boolean): { kv: Array<[string, GgufWriteValue]>; tensors: GgufWriteTensor[] } {
  const embd = 4096;
  const ffn = 11008;
  const layers = 32;
  const tokens = Array.from({ length: vocab }, (_, i) => (i < 3 ? ['<unk>', '<s>', '</s>'][i] : `tok${i.toString(36)}`));
  const kv: Array<[string, GgufWriteValue]> = [
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'bench-7b-shape' }],
    ['general.file_type', { type: 'u32', value: 15 }],
    ['llama.context_length', { type: 'u32', value: 4096 }],
    ['llama.embedding_length', { type: 'u32', value: embd }],
    ['llama.block_count', { type: 'u32', value: layers }],
    ['llama.feed_forward_length', { type: 'u32', value: ffn }],
    ['llama.attention.head_count', { type: 'u32', value: 32 }],
    ['llama.attention.layer_norm_rms_epsilon', { type: 'f32', value: 1e-5 }],
    ['tokenizer.ggml.model', { type: 'string', value: bigTokenizer ? 'gpt2' : 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', values: tokens }],
    ['tokenizer.ggml.scores', { type: 'array', itemType: 'f32', values: tokens.map((_, i) => -i) }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', values: tokens.map((_, i) => (i < 3 ? 3 : 1)) }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 2 }],
  ];
  if (bigTokenizer) {
    const merges = Array.from({ length: 250_000 }, (_, i) => `t${(i * 7919) % vocab} k${i % 977}`);
    kv.push(['tokenizer.ggml.merges', { type: 'array', itemType: 'string', values: merges }]);
  }
  const t = (name: string, dims: number[]): GgufWriteTensor => ({ name, dims, type: dims.length === 1 ? 'F32' : 'Q4_K' });
  const tensors = [t('token_embd.weight', [embd, vocab]), t('output_norm.weight', [embd]), t('output.weight', [embd, vocab])];
  for (let l = 0; l < layers; l++) {
    tensors.push(
      t(`blk.${l}.attn_norm.weight`, [embd]), t(`blk.${l}.attn_q.weight`, [embd, embd]), t(`blk.${l}.attn_k.weight`, [embd, embd]),
      t(`blk.${l}.attn_v.weight`, [embd, embd]), t(`blk.${l}.attn_output.weight`, [embd, embd]), t(`blk.${l}.ffn_norm.weight`, [embd]),
      t(`blk.${l}.ffn_gate.weight`, [embd, ffn]), t(`blk.${l}.ffn_up.weight`, [embd, ffn]), t(`blk.${l}.ffn_down.weight`, [ffn, embd]),
    );
  }
  return { kv, tensors };
}

/** Writes the header and extends the file sparsely to its full declared size. */
async function writeSparse(path: string, shape: ReturnType<typeof llama7bShape>): Promise<number> {
  const { bytes, layout } = buildGguf({ kv: shape.kv, tensors: shape.tensors, headerOnly: true });
  const handle = await open(path, 'w');
  try {
    await handle.write(bytes, 0, bytes.length, 0);
    await handle.truncate(layout.fileSize);
  } finally {
    await handle.close();
  }
  return layout.fileSize;
}

interface Measured {
  fileBytes: number;
  headerBytes: number;
  bytesRead: number;
  parseMedianMs: number;
  /** CPU time of the parse (user + system): steadier than wall time on a shared machine. */
  parseCpuMedianMs: number;
  inspectMedianMs: number;
  blockingFindings: number;
}

async function measure(path: string): Promise<Measured> {
  const parse: number[] = [];
  const parseCpu: number[] = [];
  const inspect: number[] = [];
  let bytesRead = 0;
  let headerBytes = 0;
  let fileBytes = 0;
  let blockingFindings = 0;
  for (let i = 0; i < RUNS; i++) {
    const source = await FileSource.open(path);
    let read = 0;
    const counting = { path, size: source.size, depth: 0, readAt: async (o: number, n: number) => { const b = await source.readAt(o, n); read += b.length; return b; } };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { header } = await readGgufHeader(counting);
    parse.push(performance.now() - t0);
    const cpu = process.cpuUsage(c0);
    parseCpu.push((cpu.user + cpu.system) / 1000);
    await source.close();
    bytesRead = read;
    headerBytes = header.headerBytes;
    fileBytes = source.size;
    const t1 = performance.now();
    const result = await inspectGguf(path);
    inspect.push(performance.now() - t1);
    blockingFindings = result.findings.filter((f) => f.severity === 'high' || f.severity === 'critical').length;
  }
  return { fileBytes, headerBytes, bytesRead, parseMedianMs: round(median(parse)), parseCpuMedianMs: round(median(parseCpu)), inspectMedianMs: round(median(inspect)), blockingFindings };
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'sovereign-gguf-bench-'));
  try {
    const tinyPath = join(dir, 'tiny.gguf');
    await writeFile(tinyPath, buildTinyLlama({ f16: true }).bytes);
    const largeSmallVocab = join(dir, 'large-small-vocab.gguf');
    await writeSparse(largeSmallVocab, llama7bShape(602, false));
    const largeBigVocab = join(dir, 'large-big-vocab.gguf');
    await writeSparse(largeBigVocab, llama7bShape(256_000, true));

    await measure(tinyPath); // warm-up: JIT, file cache
    const tiny = await measure(tinyPath);
    const large = await measure(largeSmallVocab);
    const largeTokenizer = await measure(largeBigVocab);
    return {
      runs: RUNS,
      tiny,
      largeSmallVocab: large,
      largeBigVocab: largeTokenizer,
      // ~1 when parse time ignores file size (same metadata, 10,000x larger file).
      largeOverTinyParseRatio: round(large.parseMedianMs / tiny.parseMedianMs, 2),
      largeOverTinyParseCpuRatio: round(large.parseCpuMedianMs / Math.max(tiny.parseCpuMedianMs, 0.001), 2),
      fileSizeRatio: round(large.fileBytes / tiny.fileBytes, 0),
      // Cost follows the metadata: per MB of header, for the big tokenizer.
      bigVocabParseMsPerHeaderMB: round(largeTokenizer.parseMedianMs / (largeTokenizer.headerBytes / 1e6), 2),
      bigVocabParseCpuMsPerHeaderMB: round(largeTokenizer.parseCpuMedianMs / (largeTokenizer.headerBytes / 1e6), 2),
      bytesReadFractionOfLargeFile: round(largeTokenizer.bytesRead / largeTokenizer.fileBytes, 6),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
