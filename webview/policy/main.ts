/** Policy webview: violations by model and rule, links to the manifest line, quick fixes, exceptions. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { connect, emptyState, h, loadState, reportError, saveState, sayReady } from '../shared/webview-api';
import { restorePolicyViewState } from '../shared/view-state';
import type { PolicyContract, PolicyState, ViolationRow } from './contract';
import { exceptionsByExpiry, groupViolations } from './group';

const rpc = connect<PolicyContract>();
const app = document.getElementById('app')!;
const view = loadState(restorePolicyViewState);

rpc.on('state', (state: PolicyState) => show(state));
sayReady(rpc);

function location(row: { file: string; line: number; column?: number }): HTMLElement {
  return h('a', {
    class: 'location',
    attrs: { href: '#', title: 'Open the manifest at this line' },
    text: `${row.file}:${row.line}`,
    on: { click: (e) => (e.preventDefault(), void rpc.request('openLocation', { file: row.file, line: row.line, column: row.column }).catch(reportError)) },
  });
}

function fixes(row: ViolationRow): HTMLElement {
  const box = h('div', { class: 'fixes' });
  if (row.canSign && row.model && row.version) {
    box.append(h('vscode-button', { text: 'Sign now', on: { click: () => void rpc.request('signModel', { model: row.model!, version: row.version! }).catch(reportError) } }));
  }
  if (row.canRequestException && row.model) {
    box.append(h('vscode-button', { attrs: { secondary: '' }, text: 'Request exception…', on: { click: () => void rpc.request('requestException', { model: row.model!, rule: row.rule }).catch(reportError) } }));
  }
  return box;
}

function show(state: PolicyState): void {
  app.removeAttribute('aria-busy');
  if (state.kind === 'loading') return emptyState(app, 'Evaluating the policy…');
  if (state.kind === 'empty') return emptyState(app, state.message);
  const groups = groupViolations(state.violations);
  const errors = state.violations.filter((v) => v.severity === 'error').length;
  const summary = h(
    'div',
    { class: 'summary' },
    h('vscode-badge', { class: errors ? 'sev-error' : 'sev-ok', text: `${errors} error${errors === 1 ? '' : 's'}` }),
    h('vscode-badge', { class: 'sev-warning', text: `${state.violations.length - errors} warning(s)` }),
    h('vscode-badge', { class: 'sev-waived', text: `${state.waived.length} waived` }),
    h('span', { class: 'policy-file' }, state.policyExists ? 'policy: ' : 'no policy file, defaults apply: ', location({ file: state.policyFile, line: 1 })),
    h('vscode-button', { attrs: { secondary: '' }, text: 'Refresh', on: { click: () => void rpc.request('refresh', undefined).catch(reportError) } }),
  );
  const sections: HTMLElement[] = [];
  if (state.policyError) sections.push(h('div', { class: 'banner error', attrs: { role: 'alert' } }, h('strong', { text: 'The policy file does not parse: ' }), state.policyError));
  if (!groups.length && !state.problems.length) sections.push(h('p', { class: 'all-clear', text: 'No policy violations: every registered version passes the policy.' }));
  for (const g of groups) {
    const open = !view.collapsed.includes(g.key);
    const coll = h('vscode-collapsible', { attrs: { title: g.key, description: `${g.errors} error(s), ${g.warnings} warning(s)`, open: open ? '' : undefined, 'data-model': g.key } });
    coll.addEventListener('vsc-collapsible-toggle', (e) => {
      const isOpen = (e as CustomEvent<{ open: boolean }>).detail?.open;
      view.collapsed = isOpen ? view.collapsed.filter((k) => k !== g.key) : [...new Set([...view.collapsed, g.key])];
      saveState(view);
    });
    for (const r of g.rules) {
      coll.append(
        h(
          'div',
          { class: `rule sev-${r.severity}` },
          h('h3', {}, h('span', { class: `severity sev-${r.severity}`, text: r.severity }), ` ${r.rule}`),
          ...r.items.map((v) => h('div', { class: 'violation' }, h('p', { class: 'message-text', text: v.message }), h('p', { class: 'fix-text', text: `Fix: ${v.fix}` }), h('div', { class: 'row' }, location(v), fixes(v)))),
        ),
      );
    }
    sections.push(coll);
  }
  if (state.problems.length) {
    sections.push(h('h2', { text: `Manifests that do not parse (${state.problems.length})` }), h('ul', { class: 'problems' }, ...state.problems.map((p) => h('li', {}, location(p), ` ${p.message}`))));
  }
  const waived = exceptionsByExpiry(state.waived, state.today);
  const toggle = h('vscode-checkbox', { attrs: { label: 'Show exceptions', checked: view.showWaived ? '' : undefined } });
  toggle.addEventListener('change', () => {
    view.showWaived = (toggle as unknown as { checked: boolean }).checked;
    saveState(view);
    show(state);
  });
  sections.push(h('h2', { text: `Exceptions (${waived.length})` }), toggle);
  if (view.showWaived) {
    sections.push(
      waived.length
        ? h(
            'table',
            { class: 'exceptions' },
            h('thead', {}, h('tr', {}, ...['Model', 'Rule', 'Expires', 'Justification', 'Approved by', 'Where'].map((t) => h('th', { text: t })))),
            h(
              'tbody',
              {},
              ...waived.map((w) =>
                h(
                  'tr',
                  { class: `urgency-${w.urgency}` },
                  h('td', { text: w.exceptionFor }),
                  h('td', { text: w.rule }),
                  h('td', { text: `${w.expires} (${w.daysLeft < 0 ? `expired ${-w.daysLeft} d ago` : `${w.daysLeft} d left`})` }),
                  h('td', { text: w.justification }),
                  h('td', { text: w.approvedBy ?? '—' }),
                  h('td', {}, location(w)),
                ),
              ),
            ),
          )
        : h('p', { class: 'hint', text: 'No active exceptions.' }),
    );
  }
  app.replaceChildren(summary, h('div', { class: 'message', attrs: { id: 'message', role: 'status' } }), ...sections);
}
