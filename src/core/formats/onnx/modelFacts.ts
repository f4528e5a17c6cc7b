import type { onnx } from 'onnx-proto';
import type { ByteSource } from '../source';
import { displayDomain, isCustomDomain } from './domains';
import { checkExternalFiles, parseExternalDataEntries, type ExternalDataRef } from './externalData';
import { type FindingCollector, quote } from './findingCollector';
import { toBigInt, toJsonNumber } from './int64';
import { MAX_KNOWN_IR_VERSION, MAX_LISTED, MAX_SUBGRAPH_DEPTH } from './limits';
import { hasOwn, setOwn } from './records';
import { inspectTensor } from './tensors';
import { describeValueInfo, formatValueInfo, type OnnxValueInfo } from './valueInfo';
import { walkModel } from './walk';

/** What the ONNX reader reports about a model (JSON-serialisable; `summary` is the headline for people). */
export type OnnxFacts = {
  irVersion: number | string;
  producerName: string;
  producerVersion: string;
  /** The model's own domain (reverse-DNS name of its publisher), often empty. */
  domain: string;
  modelVersion: number | string;
  /** Operator set versions by domain ('ai.onnx' for the default domain). */
  opsets: Record<string, number | string>;
  /** Graph inputs that are real inputs (initializers listed as inputs, IR < 4 style, are left out). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: {
    count: number;
    /** Total bytes of tensor data, inline plus external. */
    bytes: number;
    inlineBytes: number;
    external: number;
    externalBytes: number;
    sparse: number;
  };
  /** Nodes in every graph, subgraphs and function bodies included. */
  nodeCount: number;
  /** Node count per operator (`Gemm`, or `domain.Op` outside the default domain). */
  opTypes: Record<string, number>;
  /** Operator domains that need native code brought by the model (high findings). */
  customDomains: string[];
  /** Model-local functions, `domain.name`. */
  functions: string[];
  /** Subgraphs (If/Loop/Scan bodies...) and their deepest nesting. */
  subgraphs: number;
  maxSubgraphDepth: number;
  externalData: { files: { location: string; size: number; tensors: number }[]; tensors: number };
  metadata: Record<string, string>;
  summary: Record<string, string | number>;
};

const MAX_OP_TYPES = 200;
const MAX_METADATA_VALUE = 1000;

/**
 * Turns a decoded model into facts and findings: opsets, inputs/outputs, initializers, operators, custom
 * domains, subgraphs, and external data resolved on disk when the source is a real file.
 */
export async function modelFacts(model: onnx.ModelProto, source: ByteSource, findings: FindingCollector, signal?: AbortSignal): Promise<OnnxFacts> {
  const irVersion = toBigInt(model.irVersion);
  if (irVersion <= 0n) findings.add('onnx/malformed', 'high', 'the model has no ir_version; runtimes refuse it');
  else if (irVersion > BigInt(MAX_KNOWN_IR_VERSION)) findings.add('onnx/ir-version-unknown', 'low', `IR version ${irVersion} is newer than this reader knows (${MAX_KNOWN_IR_VERSION}); some fields may be ignored`);
  if (!model.graph) findings.add('onnx/no-graph', 'high', 'the model has no graph');

  const opsets = opsetsOf(model, findings);
  const declared = new Set((model.opsetImport ?? []).map((o) => o.domain ?? ''));
  const localFunctions = new Set((model.functions ?? []).map((f) => `${f.domain ?? ''}\u0000${f.name ?? ''}`));

  let nodeCount = 0;
  const opTypes = new Map<string, number>();
  const customOps = new Map<string, Set<string>>();
  const undeclared = new Set<string>();
  const usedDomains = new Set<string>();
  const init = { count: 0, inlineBytes: 0, external: 0, externalBytes: 0, sparse: 0 };
  const externalRefs: ExternalDataRef[] = [];

  const walk = walkModel(model, {
    node(node) {
      nodeCount++;
      const domain = node.domain ?? '';
      const op = node.opType ?? '';
      const key = domain === '' || domain === 'ai.onnx' ? op : `${domain}.${op}`;
      opTypes.set(key, (opTypes.get(key) ?? 0) + 1);
      usedDomains.add(domain);
      if (!declared.has(domain) && !(domain === 'ai.onnx' && declared.has(''))) undeclared.add(domain);
      if (isCustomDomain(domain) && !localFunctions.has(`${domain}\u0000${op}`)) {
        const ops = customOps.get(domain) ?? new Set<string>();
        if (ops.size < 20) ops.add(op);
        customOps.set(domain, ops);
      }
    },
    tensor(t, kind, ctx) {
      const info = inspectTensor(t, kind, ctx, findings);
      if (kind === 'initializer') init.count++;
      if (kind === 'sparse-initializer') init.sparse++;
      init.inlineBytes += info.inlineBytes;
      if (info.external) {
        if (kind !== 'attribute') init.external++;
        const ref = parseExternalDataEntries(t, `${ctx.where}: ${kind} ${quote(info.name)}`, info.expectedBytes, findings);
        if (ref) {
          externalRefs.push(ref);
          const bytes = ref.length ?? ref.expectedBytes ?? 0n;
          init.externalBytes += Number(bytes);
        }
      }
    },
  });

  for (const where of walk.tooDeep.slice(0, 5)) {
    findings.add('onnx/subgraph-too-deep', 'high', `subgraphs nest deeper than ${MAX_SUBGRAPH_DEPTH}; the rest was not checked`, where);
  }
  for (const [domain, ops] of customOps) {
    findings.add(
      'onnx/custom-op-domain',
      'high',
      `operators from domain ${quote(domain)} (${[...ops].map((o) => quote(o, 40)).join(', ')}) are not part of ONNX or ONNX Runtime: running them needs a custom-op library (native code) supplied with the model`,
    );
  }
  for (const domain of undeclared) {
    findings.add('onnx/undeclared-domain', 'medium', `nodes use domain ${quote(displayDomain(domain))} without an opset_import entry; runtimes refuse the model`);
  }
  for (const domain of declared) {
    if (isCustomDomain(domain) && !usedDomains.has(domain) && !customOps.has(domain) && ![...localFunctions].some((f) => f.startsWith(`${domain}\u0000`))) {
      findings.add('onnx/custom-opset-import', 'low', `the model imports custom operator domain ${quote(domain)} without using it`);
    }
  }

  const external = await resolveExternalData(externalRefs, source, findings, signal);
  const initializerNames = new Set((model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (model.graph?.input ?? []).filter((v) => !initializerNames.has(v.name ?? '')).map(describeValueInfo);
  const outputs = (model.graph?.output ?? []).map(describeValueInfo);
  const customDomains = [...customOps.keys()].sort();

  const facts: OnnxFacts = {
    irVersion: toJsonNumber(irVersion),
    producerName: model.producerName ?? '',
    producerVersion: model.producerVersion ?? '',
    domain: model.domain ?? '',
    modelVersion: toJsonNumber(model.modelVersion),
    opsets,
    inputs: inputs.slice(0, MAX_LISTED),
    outputs: outputs.slice(0, MAX_LISTED),
    initializers: { ...init, bytes: init.inlineBytes + init.externalBytes },
    nodeCount,
    opTypes: topCounts(opTypes, MAX_OP_TYPES),
    customDomains,
    functions: (model.functions ?? []).slice(0, MAX_LISTED).map((f) => `${displayDomain(f.domain ?? '')}.${f.name ?? ''}`),
    subgraphs: walk.subgraphs,
    maxSubgraphDepth: walk.maxDepth,
    externalData: external,
    metadata: metadataOf(model),
    summary: {},
  };
  facts.summary = summaryOf(facts, inputs.length, outputs.length);
  return facts;
}

function opsetsOf(model: onnx.ModelProto, findings: FindingCollector): Record<string, number | string> {
  const opsets: Record<string, number | string> = {};
  for (const o of model.opsetImport ?? []) {
    const domain = displayDomain(o.domain ?? '');
    if (hasOwn(opsets, domain)) findings.add('onnx/duplicate-opset', 'medium', `opset_import lists domain ${quote(domain)} more than once`);
    setOwn(opsets, domain, toJsonNumber(o.version));
  }
  // A default-domain node without the default opset import is reported as onnx/undeclared-domain: models
  // using only other domains (ai.onnx.preview.training, ai.onnx.ml) legitimately import only those.
  return opsets;
}

async function resolveExternalData(refs: ExternalDataRef[], source: ByteSource, findings: FindingCollector, signal?: AbortSignal): Promise<OnnxFacts['externalData']> {
  if (refs.length === 0) return { files: [], tensors: 0 };
  if (source.depth > 0) {
    findings.add('onnx/external-data-unresolvable', 'high', `${refs.length} tensor(s) keep their data in external files, which cannot be checked inside an archive; extract the folder and scan it`);
    return { files: [], tensors: refs.length };
  }
  const files = await checkExternalFiles(source.path, refs, findings, signal);
  return { files: [...files].slice(0, MAX_LISTED).map(([location, f]) => ({ location, ...f })), tensors: refs.length };
}

function metadataOf(model: onnx.ModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of (model.metadataProps ?? []).slice(0, MAX_LISTED)) {
    const value = p.value ?? '';
    setOwn(out, p.key ?? '', value.length > MAX_METADATA_VALUE ? `${value.slice(0, MAX_METADATA_VALUE)}…` : value);
  }
  return out;
}

function topCounts(counts: Map<string, number>, max: number): Record<string, number> {
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const out: Record<string, number> = {};
  for (const [k, v] of sorted.slice(0, max)) setOwn(out, k, v);
  const rest = sorted.slice(max).reduce((s, [, v]) => s + v, 0);
  if (rest > 0) setOwn(out, '(other)', rest);
  return out;
}

function summaryOf(f: OnnxFacts, inputCount: number, outputCount: number): Record<string, string | number> {
  const list = (items: OnnxValueInfo[], total: number): string => {
    const shown = items.slice(0, 4).map(formatValueInfo).join('; ');
    return total > 4 ? `${shown}; +${total - 4} more` : shown || 'none';
  };
  const producer = [f.producerName, f.producerVersion].filter(Boolean).join(' ');
  return {
    ir_version: f.irVersion,
    producer: producer || '(not stated)',
    opsets: Object.entries(f.opsets).map(([d, v]) => `${d} ${v}`).join(', ') || 'none',
    inputs: list(f.inputs, inputCount),
    outputs: list(f.outputs, outputCount),
    initializers: `${f.initializers.count} (${f.initializers.bytes.toLocaleString('en-US')} bytes, ${f.initializers.external} external)`,
    nodes: f.nodeCount,
    custom_domains: f.customDomains.join(', ') || 'none',
    external_data: f.externalData.tensors === 0 ? 'none' : `${f.externalData.tensors} tensor(s) in ${f.externalData.files.length} file(s)`,
  };
}
