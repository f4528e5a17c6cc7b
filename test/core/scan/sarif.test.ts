import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { toSarif } from '../../../src/core/scan/sarif';
import type { ScanReport } from '../../../src/core/scan/scanner';

describe('SARIF output', () => {
  const base = '/repo';
  const report: ScanReport = {
    files: [
      {
        path: join(base, 'models', 'evil model.pkl'),
        format: 'pickle',
        sha256: 'ab'.repeat(32),
        size: 10,
        findings: [
          { rule: 'pickle/dangerous-global', severity: 'critical', message: 'calls os.system', location: 'offset 2' },
          { rule: 'pickle/unknown-global', severity: 'medium', message: 'references foo.bar' },
        ],
      },
      { path: '/elsewhere/x.gguf', format: 'gguf', sha256: 'cd'.repeat(32), size: 5, findings: [{ rule: 'gguf/x', severity: 'low', message: 'm' }] },
    ],
  };
  const log = toSarif(report, { toolVersion: '1.2.3', baseDir: base });

  it('is SARIF 2.1.0 with one run, a driver with the rules found, and one result per finding', () => {
    assert.equal(log.version, '2.1.0');
    assert.equal(log.runs.length, 1);
    const run = log.runs[0];
    assert.equal(run.tool.driver.name, 'sovereign-scan');
    assert.deepEqual(run.tool.driver.rules?.map((r) => r.id), ['gguf/x', 'pickle/dangerous-global', 'pickle/unknown-global']);
    assert.equal(run.results?.length, 3);
  });

  it('maps severities to levels and security-severity for GitHub code scanning', () => {
    const [crit, med, low] = log.runs[0].results!;
    assert.equal(crit.level, 'error');
    assert.equal(med.level, 'warning');
    assert.equal(low.level, 'note');
    const rule = log.runs[0].tool.driver.rules!.find((r) => r.id === 'pickle/dangerous-global')!;
    assert.ok(Number(rule.properties?.['security-severity']) >= 9);
  });

  it('writes repository-relative, URI-encoded locations (absolute file URIs outside the base)', () => {
    const [crit, , outside] = log.runs[0].results!;
    const loc = crit.locations![0].physicalLocation!;
    assert.equal(loc.artifactLocation!.uri, 'models/evil%20model.pkl');
    assert.equal(loc.artifactLocation!.uriBaseId, '%SRCROOT%');
    assert.ok(loc.region!.startLine! >= 1);
    assert.equal(outside.locations![0].physicalLocation!.artifactLocation!.uri, 'file:///elsewhere/x.gguf');
    assert.match(crit.partialFingerprints?.['sovereignFinding/v1'] ?? '', /^[0-9a-f]{32}$/);
  });
});
