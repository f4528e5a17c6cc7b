import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { restoreFailedHtml } from '../../src/extension/webviews/html';
import {
  BENCHMARKS_DEFAULTS,
  describeSavedState,
  LINEAGE_DEFAULTS,
  POLICY_DEFAULTS,
  restoreBenchmarksViewState,
  restoreDeploymentsViewState,
  restoreLineageViewState,
  restorePolicyViewState,
  restoreTcoViewState,
  TCO_DEFAULTS,
  VIEW_TYPES,
} from '../../webview/shared/view-state';

/** Saved states that are not ours: nothing, wrong types, arrays, a JSON string, an older unrelated shape. */
const GARBAGE: unknown[] = [undefined, null, 0, 42, 'state', true, [], [1, 2], { filterText: 'old', scroll: { x: 1 } }, JSON.stringify({ filter: 'x' })];

describe('webview view state: what a restored panel gets back from getState', () => {
  it('keeps a well-formed lineage state as saved (filter, selection, zoom chosen by the user, scroll)', () => {
    const saved = { filter: 'llama', selected: 'model:coder@1.1.0', zoom: 1.5625, zoomedByUser: true, scrollLeft: 120, scrollTop: 48 };
    assert.deepEqual(restoreLineageViewState(saved), saved);
    assert.equal(describeSavedState('lineage', saved), 'kept');
  });

  it('falls back to the defaults for anything that is not a saved state', () => {
    for (const saved of GARBAGE) {
      assert.deepEqual(restoreLineageViewState(saved), LINEAGE_DEFAULTS, JSON.stringify(saved));
      assert.deepEqual(restoreBenchmarksViewState(saved), BENCHMARKS_DEFAULTS, JSON.stringify(saved));
      assert.deepEqual(restorePolicyViewState(saved), POLICY_DEFAULTS, JSON.stringify(saved));
      assert.deepEqual(restoreDeploymentsViewState(saved), {});
    }
    assert.equal(describeSavedState('lineage', undefined), 'none');
    assert.equal(describeSavedState('policy', [1, 2]), 'sanitized');
  });

  it('lineage: keeps the good fields of a malformed state and drops the bad ones', () => {
    const restored = restoreLineageViewState({ filter: 7, selected: ['a'], zoom: 'big', zoomedByUser: 'yes', scrollLeft: -5, scrollTop: Number.NaN, extra: { deep: true } });
    assert.deepEqual(restored, LINEAGE_DEFAULTS);
    assert.deepEqual(restoreLineageViewState({ filter: 'ds', zoom: 99, zoomedByUser: true, scrollTop: Infinity }), { filter: 'ds', zoom: 3, zoomedByUser: true, scrollLeft: 0, scrollTop: 0 });
    assert.equal(restoreLineageViewState({ zoom: 0.001, zoomedByUser: true }).zoom, 0.2);
    assert.equal(restoreLineageViewState({ zoom: -1 }).zoom, 1);
    // "zoomed by the user" without the zoom it names: the view fits the panel again
    assert.equal(restoreLineageViewState({ zoomedByUser: true }).zoomedByUser, undefined);
    // an empty selection is no selection; an absurdly long filter is not one a person typed
    assert.equal('selected' in restoreLineageViewState({ selected: '' }), false);
    assert.equal(restoreLineageViewState({ filter: 'x'.repeat(5000) }).filter, '');
    assert.equal(describeSavedState('lineage', { filter: 'x', zoom: 1, scrollLeft: 0, scrollTop: 0, legacy: 1 }), 'sanitized');
  });

  it('lineage: an older state (before zoomedByUser existed) restores its filter, selection and scroll', () => {
    const older = { filter: 'mistral', selected: 'dataset:code-corpus', zoom: 0.64, scrollLeft: 10, scrollTop: 20 };
    assert.deepEqual(restoreLineageViewState(older), older);
  });

  it('benchmarks: keeps selected runs and the compare mode; drops wrong elements, duplicates and unknown modes', () => {
    const saved = { selected: ['.sovereign/benchmarks/coder/1.0.0/a.json', '.sovereign/benchmarks/coder/1.1.0/b.json'], mode: 'latest-per-version' };
    assert.deepEqual(restoreBenchmarksViewState(saved), saved);
    assert.deepEqual(restoreBenchmarksViewState({ selected: ['a', 3, null, 'a', '', { id: 'b' }, 'c'], mode: 'fastest' }), { selected: ['a', 'c'], mode: 'runs' });
    assert.deepEqual(restoreBenchmarksViewState({ selected: 'a', mode: 'runs' }), { selected: [], mode: 'runs' });
    assert.deepEqual(restoreBenchmarksViewState({ selected: new Array(10_000).fill('x') }).selected, []);
  });

  it('policy: keeps the collapsed groups and the exceptions toggle; a wrong toggle means shown', () => {
    const saved = { collapsed: ['coder', 'embed@1.0.0'], showWaived: false };
    assert.deepEqual(restorePolicyViewState(saved), saved);
    assert.deepEqual(restorePolicyViewState({ collapsed: { coder: true }, showWaived: 'no' }), POLICY_DEFAULTS);
    assert.deepEqual(restorePolicyViewState({ collapsed: ['coder', 1, 'coder'] }), { collapsed: ['coder'], showWaived: true });
  });

  it('tco: keeps a well-formed form; a wrong field falls back to its default, the rest is kept', () => {
    const saved = { ...TCO_DEFAULTS, model: 'coder@1.1.0', requestsPerDay: 250_000, pricing: 'hourly' as const, hourlyPrice: 2.5, utilisation: 0.8, currency: 'EUR' };
    assert.deepEqual(restoreTcoViewState(saved), saved);
    for (const garbage of GARBAGE) assert.deepEqual(restoreTcoViewState(garbage), TCO_DEFAULTS, JSON.stringify(garbage));
    assert.deepEqual(restoreTcoViewState({ requestsPerDay: -5, utilisation: 0, pricing: 'free', currency: '<script>', inputTokens: 900, model: 7 }), { ...TCO_DEFAULTS, inputTokens: 900 });
    assert.equal(restoreTcoViewState({ utilisation: 1.5 }).utilisation, TCO_DEFAULTS.utilisation);
    assert.equal(restoreTcoViewState({ requestsPerDay: Number.POSITIVE_INFINITY }).requestsPerDay, TCO_DEFAULTS.requestsPerDay);
  });

  it('the activation events name every view type the serializers are registered for', () => {
    const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as { activationEvents: string[] };
    for (const viewType of Object.values(VIEW_TYPES)) assert.ok(manifest.activationEvents.includes(`onWebviewPanel:${viewType}`), viewType);
  });

  it('a panel that cannot be wired again explains itself, runs no script, escapes the reason', () => {
    const html = restoreFailedHtml('Model Lineage', 'boom <script>alert(1)</script>', 'Sovereign: Show Lineage');
    assert.match(html, /content="default-src 'none'/);
    assert.doesNotMatch(html, /<script/);
    assert.match(html, /Model Lineage could not be restored after the window reloaded: boom &lt;script&gt;/);
    assert.match(html, /Sovereign: Show Lineage/);
  });
});
