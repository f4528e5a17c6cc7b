import type { onnx } from 'onnx-proto';
import type { MetadataText } from '../types';
import { walkModel } from './walk';

/** Doc strings kept for the rule stage (a graph of a million nodes keeps the first ones). */
const MAX_TEXTS = 10_000;

/**
 * The strings an ONNX model carries for people and tools rather than for the runtime: metadata_props
 * (keys and values), the model's and graphs' doc strings, node and function doc strings. The rule stage
 * scans them as metadata (docs/scan-rules.md).
 */
export function onnxTexts(model: onnx.IModelProto): MetadataText[] {
  const texts: MetadataText[] = [];
  const add = (key: string, value: string | null | undefined): void => {
    if (value && texts.length < MAX_TEXTS) texts.push({ key, value });
  };
  add('doc_string', model.docString);
  for (const p of model.metadataProps ?? []) {
    add(`metadata_props.${p.key ?? ''}`, p.value);
    add('metadata_props(key)', p.key);
  }
  add('graph.doc_string', model.graph?.docString);
  for (const fn of model.functions ?? []) add(`function ${fn.domain ?? ''}.${fn.name ?? ''}.doc_string`, fn.docString);
  walkModel(model, {
    node: (node, ctx) => add(`${ctx.where}/${node.name || node.opType || 'node'}.doc_string`, node.docString),
  });
  return texts;
}
