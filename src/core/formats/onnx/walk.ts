import type { onnx } from 'onnx-proto';
import { MAX_SUBGRAPH_DEPTH } from './limits';

/** Where something sits in the model, for messages: `graph`, `graph/If_0.then_branch`, `function x.F`... */
export interface WalkContext {
  where: string;
  /** 0 for the main graph, training graphs and function bodies; +1 per subgraph attribute. */
  depth: number;
}

export type TensorKind = 'initializer' | 'sparse-initializer' | 'attribute';

export interface ModelVisitor {
  node?(node: onnx.INodeProto, ctx: WalkContext): void;
  tensor?(tensor: onnx.ITensorProto, kind: TensorKind, ctx: WalkContext): void;
}

export interface WalkSummary {
  /** Graphs visited, main graph included. */
  graphs: number;
  /** Subgraphs (graph-valued attributes) walked. */
  subgraphs: number;
  /** Deepest subgraph nesting seen. */
  maxDepth: number;
  /** Subgraphs not walked because they nest deeper than the limit. */
  tooDeep: string[];
}

interface Pending {
  nodes: readonly onnx.INodeProto[];
  graph?: onnx.IGraphProto;
  ctx: WalkContext;
}

/**
 * Visits every node and tensor of a model: the main graph, subgraphs in node attributes (If/Loop/Scan
 * bodies, at any depth up to the limit), training graphs, and model-local function bodies. Iterative,
 * so a deeply nested model cannot overflow the stack here.
 */
export function walkModel(model: onnx.IModelProto, visitor: ModelVisitor, maxDepth = MAX_SUBGRAPH_DEPTH): WalkSummary {
  const summary: WalkSummary = { graphs: 0, subgraphs: 0, maxDepth: 0, tooDeep: [] };
  const stack: Pending[] = [];
  const pushGraph = (graph: onnx.IGraphProto | null | undefined, ctx: WalkContext): void => {
    if (graph) stack.push({ graph, nodes: graph.node ?? [], ctx });
  };
  pushGraph(model.graph, { where: 'graph', depth: 0 });
  (model.trainingInfo ?? []).forEach((info, i) => {
    pushGraph(info.initialization, { where: `training_info[${i}].initialization`, depth: 0 });
    pushGraph(info.algorithm, { where: `training_info[${i}].algorithm`, depth: 0 });
  });
  for (const fn of model.functions ?? []) {
    stack.push({ nodes: fn.node ?? [], ctx: { where: `function ${fn.domain ?? ''}.${fn.name ?? ''}`, depth: 0 } });
  }

  while (stack.length > 0) {
    const { graph, nodes, ctx } = stack.pop()!;
    if (graph) {
      summary.graphs++;
      summary.maxDepth = Math.max(summary.maxDepth, ctx.depth);
      if (ctx.depth > 0) summary.subgraphs++;
      for (const t of graph.initializer ?? []) visitor.tensor?.(t, 'initializer', ctx);
      for (const s of graph.sparseInitializer ?? []) visitSparse(s, 'sparse-initializer', ctx, visitor);
    }
    nodes.forEach((node, i) => {
      visitor.node?.(node, ctx);
      const nodeName = node.name || `${node.opType ?? 'node'}_${i}`;
      for (const a of node.attribute ?? []) {
        const attrCtx: WalkContext = { where: `${ctx.where}/${nodeName}.${a.name ?? ''}`, depth: ctx.depth };
        if (a.t) visitor.tensor?.(a.t, 'attribute', attrCtx);
        for (const t of a.tensors ?? []) visitor.tensor?.(t, 'attribute', attrCtx);
        if (a.sparseTensor) visitSparse(a.sparseTensor, 'attribute', attrCtx, visitor);
        for (const s of a.sparseTensors ?? []) visitSparse(s, 'attribute', attrCtx, visitor);
        const subgraphs = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
        subgraphs.forEach((g, j) => {
          const sub: WalkContext = { where: subgraphs.length > 1 ? `${attrCtx.where}[${j}]` : attrCtx.where, depth: ctx.depth + 1 };
          if (sub.depth > maxDepth) summary.tooDeep.push(sub.where);
          else pushGraph(g, sub);
        });
      }
    });
  }
  return summary;
}

function visitSparse(s: onnx.ISparseTensorProto, kind: TensorKind, ctx: WalkContext, visitor: ModelVisitor): void {
  if (s.values) visitor.tensor?.(s.values, kind, ctx);
  if (s.indices) visitor.tensor?.(s.indices, kind, ctx);
}
