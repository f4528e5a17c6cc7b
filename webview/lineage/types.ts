/**
 * The lineage graph as the webview sees it. The same shape as src/core/registry/lineage.ts, declared here
 * so the browser bundle depends on no Node code; the host assigns the core graph to this type, so the
 * compiler reports any drift (src/extension/webviews/lineage-panel.ts).
 */
export interface LineageNode {
  id: string;
  kind: 'model' | 'dataset' | 'artifact';
  label: string;
  name: string;
  version?: string;
  aliases?: string[];
  status?: { scan?: 'pass' | 'fail'; worst?: string; signed: boolean; violations: number };
  format?: string;
  license?: string;
  digest?: string;
}

export interface LineageEdge {
  from: string;
  to: string;
  kind: 'fine-tune' | 'quantize' | 'convert' | 'distill' | 'merge' | 'other' | 'trained-on';
}

export interface LineageGraph {
  nodes: LineageNode[];
  edges: LineageEdge[];
}

export interface PlacedNode {
  id: string;
  /** Top-left corner. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PlacedEdge {
  from: string;
  to: string;
  kind: LineageEdge['kind'];
  /** SVG path data. */
  path: string;
}

export interface LineageLayout {
  width: number;
  height: number;
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  stats: { families: number; familiesFromCache: number; ms: number };
}
