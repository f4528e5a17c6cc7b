import type { Finding } from '../findings';
import type { ByteSource } from '../source';
import type { Analyzer } from '../types';
import { judgeKerasConfig } from '../zip/keras-config';

/**
 * HDF5 files (.h5: legacy Keras models, Keras 3 .weights.h5). Keras stores its model config as a JSON
 * string attribute (`model_config`); a bounded byte search finds it without an HDF5 library, and the
 * config is judged like a .keras config.json (Lambda layers, foreign modules).
 */

const SEARCH_LIMIT = 1024 ** 3;
const CHUNK = 4 << 20;
const OVERLAP = 64;
const MAX_JSON = 16 << 20;
const MAX_CONFIGS = 8;
const CONFIG_START = /\{\s*"class_name"\s*:/g;
const LAMBDA = /"class_name"\s*:\s*"Lambda"/;

export const analyzeHdf5: Analyzer = async (source, options) => {
  const findings: Finding[] = [];
  const superblock = (await source.readAt(8, 1))[0];
  const starts: number[] = [];
  let sawModelConfig = false;
  let sawKerasVersion = false;
  let lambdaText = false;
  const searched = Math.min(source.size, SEARCH_LIMIT);
  for (let off = 0; off < searched; off += CHUNK) {
    options.signal?.throwIfAborted();
    const from = Math.max(0, off - OVERLAP);
    const text = (await source.readAt(from, Math.min(CHUNK + (off - from), searched - from))).toString('latin1');
    if (!sawModelConfig && text.includes('model_config')) sawModelConfig = true;
    if (!sawKerasVersion && text.includes('keras_version')) sawKerasVersion = true;
    if (!lambdaText && LAMBDA.test(text)) lambdaText = true;
    for (const m of text.matchAll(CONFIG_START)) {
      const at = from + (m.index ?? 0);
      if (starts.length < MAX_CONFIGS && !starts.includes(at)) starts.push(at);
    }
  }
  const configs: unknown[] = [];
  for (const at of starts) {
    const json = await extractJson(source, at);
    if (json !== undefined) configs.push(json);
  }
  let keras: ReturnType<typeof judgeKerasConfig>['facts'] | undefined;
  for (const config of configs) {
    const judged = judgeKerasConfig(config, `${source.path} (model_config)`);
    findings.push(...judged.findings);
    if (!keras || judged.facts.layers > keras.layers) keras = judged.facts;
  }
  if (lambdaText && !findings.some((f) => f.rule === 'keras/lambda-layer')) {
    findings.push({ rule: 'keras/lambda-layer', severity: 'high', message: 'a Lambda layer appears in an embedded Keras config that could not be parsed: it carries Python code', location: source.path });
  }
  const kerasModel = sawModelConfig || sawKerasVersion || configs.length > 0;
  if (source.size > SEARCH_LIMIT) {
    findings.push({ rule: 'hdf5/search-truncated', severity: 'low', message: `only the first ${SEARCH_LIMIT} bytes were searched for Keras configs`, location: source.path });
  }
  return {
    format: 'hdf5',
    facts: {
      summary: { superblockVersion: superblock, kerasModel, ...(keras ? { layers: keras.layers, lambdaLayers: keras.lambdaLayers } : {}) },
      kerasModel,
      ...(keras ? { keras } : {}),
    },
    findings,
  };
};

/** The JSON object starting at `at`: braces matched outside strings, bounded in length; undefined if not JSON. */
async function extractJson(source: ByteSource, at: number): Promise<unknown> {
  const bytes = await source.readAt(at, MAX_JSON);
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      try {
        return JSON.parse(bytes.toString('utf8', 0, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
