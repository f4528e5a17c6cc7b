/** The lineage view's message contract (host <-> webview). */
import type { ViewContract } from '../shared/ipc';
import type { LineageGraph, LineageLayout } from './types';

export type { LineageGraph, LineageNode, LineageEdge, LineageLayout } from './types';

export interface LineageUpdate {
  graph: LineageGraph;
  layout: LineageLayout;
}

export type LineageState = { kind: 'graph'; update: LineageUpdate } | { kind: 'empty'; message: string } | { kind: 'loading' };

export interface LineageContract extends ViewContract {
  host: {
    /** Opens `.sovereign/models/NAME/VERSION.yaml` of a model node. */
    openManifest: (params: { id: string }) => boolean;
    refresh: (params: undefined) => void;
  };
  toWebview: { state: LineageState };
  toHost: Record<string, never>;
}

/** What the webview keeps across hide/show (vscode.getState / setState). */
export interface LineageViewState {
  filter: string;
  selected?: string;
  zoom: number;
  /** True once the user zoomed by hand; until then the graph is fitted to the panel's width. */
  zoomedByUser?: boolean;
  scrollLeft: number;
  scrollTop: number;
}
