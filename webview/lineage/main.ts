/** Lineage webview: draws the laid-out graph as SVG, filters, highlights, opens manifests. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { connect, emptyState, h, loadState, reportError, saveState, sayReady } from '../shared/webview-api';
import { restoreLineageViewState } from '../shared/view-state';
import type { LineageContract, LineageState } from './contract';
import { aliasSlot, describeNode, filterMatches, highlightSet, modelsUsingDataset } from './model';
import { contains, LABEL_MIN_ZOOM, renderLineageSvg, type Region } from './svg';
import type { LineageGraph, LineageLayout } from './types';

const rpc = connect<LineageContract>();
const app = document.getElementById('app')!;
const view = loadState(restoreLineageViewState);
let current: { graph: LineageGraph; layout: LineageLayout } | undefined;
let canvas: HTMLElement | undefined;
let details: HTMLElement | undefined;
/** Draws started; a late "drawn in" of an earlier one is not shown. */
let draws = 0;
/** The part of the graph (layout coordinates) the current drawing holds. */
let drawnRegion: Region | undefined;

rpc.on('state', (state: LineageState) => show(state));
sayReady(rpc);

function show(state: LineageState): void {
  app.removeAttribute('aria-busy');
  if (state.kind === 'loading') return emptyState(app, 'Reading the registry and laying out the lineage…');
  if (state.kind === 'empty') {
    current = undefined;
    return emptyState(app, state.message);
  }
  const first = !current;
  current = state.update;
  // A saved selection (hide/show, or a restored panel) whose node left the registry is dropped.
  if (view.selected && !current.graph.nodes.some((n) => n.id === view.selected)) {
    view.selected = undefined;
    saveState(view);
  }
  if (first || !canvas) build();
  draw();
  if (first && canvas) {
    canvas.scrollLeft = view.scrollLeft;
    canvas.scrollTop = view.scrollTop;
  }
}

function build(): void {
  const filter = h('vscode-textfield', { attrs: { placeholder: 'Filter by model, version, alias or dataset', 'aria-label': 'Filter', value: view.filter, id: 'filter' } });
  filter.addEventListener('input', () => {
    view.filter = (filter as unknown as { value: string }).value;
    saveState(view);
    draw();
  });
  const zoom = (factor: number) => () => {
    view.zoom = factor === 0 ? 1 : Math.min(3, Math.max(0.2, view.zoom * factor));
    view.zoomedByUser = true;
    saveState(view);
    draw();
  };
  const toolbar = h(
    'div',
    { class: 'toolbar' },
    filter,
    h('vscode-button', { attrs: { secondary: '', title: 'Zoom out' }, text: '−', on: { click: zoom(1 / 1.25) } }),
    h('vscode-button', { attrs: { secondary: '', title: 'Zoom in' }, text: '+', on: { click: zoom(1.25) } }),
    h('vscode-button', { attrs: { secondary: '', title: 'Actual size' }, text: '1:1', on: { click: zoom(0) } }),
    h('vscode-button', {
      attrs: { secondary: '', title: 'Fit the graph to the panel' },
      text: 'Fit',
      on: {
        click: () => {
          view.zoomedByUser = false;
          saveState(view);
          draw();
        },
      },
    }),
    h('vscode-button', { attrs: { secondary: '', title: 'Re-read the registry' }, text: 'Refresh', on: { click: () => void rpc.request('refresh', undefined).catch(reportError) } }),
    h('span', { class: 'stats', attrs: { id: 'stats' } }),
  );
  const legend = h(
    'div',
    { class: 'legend', attrs: { 'aria-label': 'Legend' } },
    h('span', { class: 'swatch status-ok' }, 'scan passed, signed'),
    h('span', { class: 'swatch status-unsigned' }, 'unsigned'),
    h('span', { class: 'swatch status-violations' }, 'policy violations'),
    h('span', { class: 'swatch status-scan-failed' }, 'scan failed'),
    h('span', { class: 'swatch kind-dataset' }, 'dataset'),
    h('span', { class: 'swatch aliased alias-0' }, 'alias (outline colour)'),
  );
  canvas = h('div', { class: 'canvas', attrs: { id: 'canvas', tabindex: '0', 'aria-label': 'Lineage graph' } });
  canvas.addEventListener('click', onClick);
  canvas.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') select(undefined);
  });
  let pending = 0;
  canvas.addEventListener('scroll', () => {
    // Scroll position is view state too; saved at most once per frame.
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      view.scrollLeft = canvas!.scrollLeft;
      view.scrollTop = canvas!.scrollTop;
      saveState(view);
      drawIfScrolledOut();
    });
  });
  details = h('aside', { class: 'details', attrs: { id: 'details', 'aria-live': 'polite' } });
  app.replaceChildren(toolbar, legend, h('div', { class: 'body' }, canvas, details), h('div', { class: 'message', attrs: { id: 'message', role: 'status' } }));
}

function draw(): void {
  if (!current || !canvas) return;
  const { graph, layout } = current;
  const started = performance.now();
  // Until the user zooms, the whole graph fits the panel's width (a large registry starts as an overview).
  // Read before the new drawing goes in: the panel's width does not depend on it, and reading it after
  // would force Chromium to lay out the whole new drawing at once.
  if (!view.zoomedByUser && layout.width > 0 && canvas.clientWidth > 0) {
    view.zoom = Math.max(0.2, Math.min(1, (canvas.clientWidth - 16) / layout.width));
  }
  // A panel with no size yet (still being laid out) gets the whole graph rather than nothing.
  const screen = screenRegion();
  drawnRegion = screen.width > 0 && screen.height > 0 ? regionAround(screen) : undefined;
  const visible = filterMatches(graph, view.filter);
  const highlighted = highlightSet(graph, view.selected);
  canvas.innerHTML = renderLineageSvg(graph, layout, { visible, highlighted, selected: view.selected, zoom: view.zoom, region: drawnRegion });
  const models = graph.nodes.filter((n) => n.kind === 'model').length;
  const summary = `${models} model versions · ${graph.nodes.length - models} datasets/artifacts · ${visible ? `${visible.size} match · ` : ''}`;
  const labels = view.zoom >= LABEL_MIN_ZOOM ? '' : ' · zoom in for labels';
  const stats = document.getElementById('stats')!;
  stats.textContent = `${summary}drawing…`;
  renderDetails();
  // The time the person waits: until the frame with the new drawing is painted (style, layout and paint
  // come after this function; a task queued from the next animation frame runs once that frame is done).
  const drawing = ++draws;
  requestAnimationFrame(() =>
    setTimeout(() => {
      if (drawing === draws) stats.textContent = `${summary}drawn in ${(performance.now() - started).toFixed(0)} ms${labels}`;
    }),
  );
}

/** The part of the graph on screen, in layout coordinates. */
function screenRegion(): Region {
  const c = canvas!;
  const zoom = view.zoom || 1;
  return { x: c.scrollLeft / zoom, y: c.scrollTop / zoom, width: c.clientWidth / zoom, height: c.clientHeight / zoom };
}

/**
 * What is drawn around the screen: two screens on each side. A large registry is tens of screens tall;
 * drawing only this part keeps Chromium's parse, layout and paint to a few hundred elements.
 */
function regionAround(screen: Region): Region {
  return { x: screen.x - 2 * screen.width, y: screen.y - 2 * screen.height, width: 5 * screen.width, height: 5 * screen.height };
}

/** After a scroll: drawn again when the screen plus a screen's margin is no longer inside what is drawn. */
function drawIfScrolledOut(): void {
  if (!drawnRegion) return;
  const s = screenRegion();
  if (!contains(drawnRegion, { x: s.x - s.width, y: s.y - s.height, width: 3 * s.width, height: 3 * s.height })) draw();
}

function onClick(event: Event): void {
  const target = (event.target as Element).closest('[data-id]');
  select(target?.getAttribute('data-id') ?? undefined);
}

function select(id: string | undefined): void {
  view.selected = view.selected === id ? undefined : id;
  saveState(view);
  draw();
}

function renderDetails(): void {
  if (!details || !current) return;
  const node = current.graph.nodes.find((n) => n.id === view.selected);
  if (!node) {
    details.replaceChildren(h('p', { class: 'hint', text: 'Select a dataset to see which models used it; select a model to see its chain and open its manifest.' }));
    return;
  }
  const children: (Node | undefined)[] = [h('h2', { text: node.label }), h('p', { text: describeNode(node) })];
  if (node.aliases?.length) children.push(h('p', {}, ...node.aliases.map((a) => h('vscode-badge', { class: `alias-badge alias-${aliasSlot(a)}`, text: a }))));
  if (node.kind === 'model') {
    children.push(h('vscode-button', { text: 'Open manifest', on: { click: () => void rpc.request('openManifest', { id: node.id }).catch(reportError) } }));
  }
  if (node.kind === 'dataset') {
    const users = modelsUsingDataset(current.graph, node.id);
    children.push(h('h3', { text: `Models that used this dataset (${users.length})` }));
    children.push(
      h(
        'ul',
        { class: 'users' },
        ...users.map((u) => h('li', {}, h('a', { attrs: { href: '#' }, text: u.label, on: { click: (e) => (e.preventDefault(), void rpc.request('openManifest', { id: u.id }).catch(reportError)) } }))),
      ),
    );
  }
  details.replaceChildren(...children.filter((c): c is Node => !!c));
}
