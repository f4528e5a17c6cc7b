import { strict as assert } from 'node:assert';
import type { ViolationRow, WaivedRow } from '../../webview/policy/contract';
import { daysUntil, exceptionsByExpiry, groupViolations } from '../../webview/policy/group';
import { histogramQuantile, parsePrometheus, summarizeMetrics } from '../../src/core/views/deployment-metrics';
import { ServeMetrics } from '../../src/core/serve/metrics';

const v = (model: string | undefined, rule: string, severity: 'error' | 'warning', line = 1): ViolationRow => ({
  rule, severity, message: `${rule} on ${model}`, fix: 'fix it', file: model ? `.sovereign/models/${model}/1.0.0.yaml` : '.sovereign/policy.yaml', line, model, version: model ? '1.0.0' : undefined, canSign: rule === 'signature-required', canRequestException: rule !== 'manifest-invalid',
});

describe('policy view: grouping', () => {
  it('groups by model then rule, worst model first, errors before warnings', () => {
    const groups = groupViolations([v('a', 'license', 'warning'), v('b', 'signature-required', 'error'), v('b', 'license', 'warning', 3), v('b', 'license', 'warning', 4), v(undefined, 'format', 'warning')]);
    assert.deepEqual(groups.map((g) => [g.key, g.errors, g.warnings]), [['b@1.0.0', 1, 2], ['.sovereign/policy.yaml', 0, 1], ['a@1.0.0', 0, 1]]);
    assert.deepEqual(groups[0].rules.map((r) => [r.rule, r.severity, r.items.length]), [['signature-required', 'error', 1], ['license', 'warning', 2]]);
  });

  it('orders exceptions by expiry and marks expired and soon-expiring ones', () => {
    const w = (model: string, expires: string): WaivedRow => ({ ...v(model, 'license', 'warning'), justification: 'internal use only, reviewed', expires, exceptionFor: model });
    const rows = exceptionsByExpiry([w('far', '2025-12-31'), w('soon', '2025-03-10'), w('past', '2025-02-01')], '2025-03-01');
    assert.deepEqual(rows.map((r) => [r.exceptionFor, r.daysLeft, r.urgency]), [['past', -28, 'expired'], ['soon', 9, 'soon'], ['far', 305, 'later']]);
    assert.ok(Number.isNaN(daysUntil('never', '2025-01-01')));
  });
});

describe('deployments view: live metrics from a real sovereign serve registry (prom-client)', () => {
  async function scrape(observe: (m: ServeMetrics) => void): Promise<string> {
    const m = new ServeMetrics(async () => 123 * 2 ** 20);
    observe(m);
    return (await m.text()).body;
  }

  it('parses the exposition format, labels with escapes included', () => {
    const s = parsePrometheus('# HELP x y\nfoo_total{route="/v1/completions",msg="a\\"b"} 3\nbar 1.5e3 1700000000\nbaz{le="+Inf"} +Inf\n');
    assert.deepEqual(s, [
      { name: 'foo_total', labels: { route: '/v1/completions', msg: 'a"b' }, value: 3 },
      { name: 'bar', labels: {}, value: 1500 },
      { name: 'baz', labels: { le: '+Inf' }, value: Infinity },
    ]);
  });

  it('summarises requests, latency percentiles, TTFT, tokens/s, memory, leaving out its own scrapes', async () => {
    const text = await scrape((m) => {
      for (let i = 0; i < 100; i++) {
        m.requests.inc({ route: '/v1/completions', status: '200' });
        m.requestDuration.observe({ route: '/v1/completions', status: '200' }, i < 90 ? 0.02 : 0.4);
      }
      for (let i = 0; i < 50; i++) m.requests.inc({ route: '/metrics', status: '200' });
      m.requestDuration.observe({ route: '/metrics', status: '200' }, 9);
      m.recordGeneration({ promptTokens: 10, generatedTokens: 11, ttftMs: 8, generateMs: 50 } as never);
      m.modelLoadSeconds.set(0.25);
    });
    const s = summarizeMetrics(text, { requests: 40, atMs: 0 }, 10_000);
    assert.equal(s.requests, 100);
    assert.equal(s.requestsPerSecond, 6);
    assert.ok(s.latencyP50Ms! > 10 && s.latencyP50Ms! <= 25, String(s.latencyP50Ms));
    assert.ok(s.latencyP95Ms! > 250 && s.latencyP95Ms! <= 500, String(s.latencyP95Ms));
    assert.ok(s.ttftP50Ms! > 5 && s.ttftP50Ms! <= 10, String(s.ttftP50Ms));
    assert.ok(s.tokensPerSecondP50! > 100 && s.tokensPerSecondP50! <= 250, String(s.tokensPerSecondP50));
    assert.equal(s.generatedTokens, 11);
    assert.equal(s.rssBytes, 123 * 2 ** 20);
    assert.equal(s.modelLoadSeconds, 0.25);
  });

  it('has no percentile without observations', () => {
    assert.equal(histogramQuantile([], 'x', 0.5), undefined);
    assert.equal(summarizeMetrics('').requests, undefined);
  });
});
