import { strict as assert } from 'node:assert';
import { contentSecurityPolicy, makeNonce, webviewHtml } from '../../src/extension/webviews/html';

describe('webview HTML shell and CSP', () => {
  const cspSource = 'https://*.vscode-cdn.net';

  it('allows nothing by default, scripts by nonce only, resources only from the extension', () => {
    const nonce = makeNonce();
    const directives = Object.fromEntries(contentSecurityPolicy(cspSource, nonce).split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    assert.deepEqual(directives['default-src'], ["'none'"]);
    assert.deepEqual(directives['script-src'], [`'nonce-${nonce}'`]);
    assert.deepEqual(directives['style-src'], [cspSource, `'nonce-${nonce}'`]);
    assert.deepEqual(directives['font-src'], [cspSource]);
    assert.deepEqual(directives['img-src'], [cspSource]);
    const all = Object.values(directives).flat().join(' ');
    assert.ok(!all.includes('unsafe-eval') && !all.includes('unsafe-inline') && !all.includes('*:') && !/\bhttps?:\b/.test(all.replace(cspSource, '')));
    assert.equal(directives['connect-src'], undefined, 'no network from the webview: it falls back to default-src none');
  });

  it('gives a fresh nonce per page and puts it on the only script', () => {
    const a = makeNonce();
    assert.notEqual(a, makeNonce());
    assert.ok(a.length >= 22);
    const html = webviewHtml({ title: 'Model <Lineage>', cspSource, nonce: a, scriptUri: 'https://x/dist/webview/lineage.js', styleUris: ['https://x/media/webview/common.css'] });
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    assert.deepEqual(scripts, [`<script nonce="${a}" src="https://x/dist/webview/lineage.js">`]);
    assert.ok(html.includes('Model &lt;Lineage&gt;'));
    assert.ok(!/ on[a-z]+=/.test(html), 'no inline event handlers');
    assert.ok(!/style="/.test(html), 'no inline styles');
  });
});
