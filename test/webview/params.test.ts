import { strict as assert } from 'node:assert';
import { compileParamsChecks } from '../../src/extension/webviews/params-checks';
import { RpcEndpoint, type MethodMap, type NotificationMap, type ResponseMessage } from '../../webview/shared/ipc';
import { BENCHMARKS_PARAMS } from '../../webview/benchmarks/schema';
import { DEPLOYMENTS_PARAMS } from '../../webview/deployments/schema';
import { LINEAGE_PARAMS } from '../../webview/lineage/schema';
import { POLICY_PARAMS } from '../../webview/policy/schema';
import type { PolicyContract } from '../../webview/policy/contract';

/** The params schemas of the four views, compiled as the host compiles them (Ajv), on real and hostile params. */
describe('webview params schemas (checked by the host before dispatch)', () => {

  it('compile (strict Ajv), one check per host method, in a null-prototype map', () => {
    const compiled: [string, object, object][] = [
      ['policy', POLICY_PARAMS, compileParamsChecks(POLICY_PARAMS)],
      ['lineage', LINEAGE_PARAMS, compileParamsChecks(LINEAGE_PARAMS)],
      ['benchmarks', BENCHMARKS_PARAMS, compileParamsChecks(BENCHMARKS_PARAMS)],
      ['deployments', DEPLOYMENTS_PARAMS, compileParamsChecks(DEPLOYMENTS_PARAMS)],
    ];
    for (const [name, schemas, checks] of compiled) {
      assert.deepEqual(Object.keys(checks).sort(), Object.keys(schemas).sort(), name);
      assert.equal(Object.getPrototypeOf(checks), null, name);
      assert.equal((checks as Record<string, unknown>).toString, undefined);
    }
  });

  it('accept what the views send', () => {
    const ok: [Record<string, (p: unknown) => string | undefined>, string, unknown][] = [
      [compileParamsChecks(POLICY_PARAMS), 'openLocation', { file: '.sovereign/models/a/1.0.0.yaml', line: 3, column: undefined }],
      [compileParamsChecks(POLICY_PARAMS), 'openLocation', { file: '.sovereign/models/a/1.0.0.yaml', line: 3, column: 5 }],
      [compileParamsChecks(POLICY_PARAMS), 'signModel', { model: 'tiny-llama', version: '1.0.0' }],
      [compileParamsChecks(POLICY_PARAMS), 'requestException', { model: 'tiny-llama', rule: 'license' }],
      [compileParamsChecks(POLICY_PARAMS), 'refresh', undefined],
      [compileParamsChecks(POLICY_PARAMS), 'refresh', null],
      [compileParamsChecks(LINEAGE_PARAMS), 'openManifest', { id: 'model:tiny-llama@1.0.0' }],
      [compileParamsChecks(BENCHMARKS_PARAMS), 'saveFile', { suggestedName: 'benchmarks-data-a-1.csv', kind: 'csv', text: 'a,b\n1,2\n' }],
      [compileParamsChecks(BENCHMARKS_PARAMS), 'saveFile', { suggestedName: 'benchmarks-tg-a-1.png', kind: 'png', base64: 'iVBORw0KGgo=' }],
      [compileParamsChecks(BENCHMARKS_PARAMS), 'openFile', { id: '.sovereign/benchmarks/a/1.0.0/run.json' }],
      [compileParamsChecks(DEPLOYMENTS_PARAMS), 'refresh', undefined],
    ];
    for (const [checks, method, params] of ok) assert.equal(checks[method](params), undefined, `${method} ${JSON.stringify(params)}`);
  });

  it('refuse params of the wrong shape, saying what is wrong', () => {
    const bad: [Record<string, (p: unknown) => string | undefined>, string, unknown, RegExp][] = [
      [compileParamsChecks(POLICY_PARAMS), 'signModel', { model: 'a' }, /must have required property 'version'/],
      [compileParamsChecks(POLICY_PARAMS), 'signModel', { model: 1, version: '1' }, /params\/model must be string/],
      [compileParamsChecks(POLICY_PARAMS), 'signModel', { model: 'a', version: '1', key: '/tmp/other.pem' }, /must NOT have additional properties/],
      [compileParamsChecks(POLICY_PARAMS), 'signModel', { model: '', version: '1' }, /must NOT have fewer than 1 characters/],
      [compileParamsChecks(POLICY_PARAMS), 'signModel', { model: 'a'.repeat(300), version: '1' }, /must NOT have more than 256 characters/],
      [compileParamsChecks(POLICY_PARAMS), 'signModel', 'a@1', /params must be object/],
      [compileParamsChecks(POLICY_PARAMS), 'signModel', null, /params must be object/],
      [compileParamsChecks(POLICY_PARAMS), 'openLocation', { file: 'x', line: '3' }, /params\/line must be integer/],
      [compileParamsChecks(POLICY_PARAMS), 'openLocation', { file: 'x', line: 1.5 }, /params\/line must be integer/],
      [compileParamsChecks(POLICY_PARAMS), 'refresh', { now: true }, /takes no params, got an object/],
      [compileParamsChecks(BENCHMARKS_PARAMS), 'saveFile', { suggestedName: 'x.exe', kind: 'exe', text: '' }, /params\/kind must be equal to one of the allowed values/],
      [compileParamsChecks(BENCHMARKS_PARAMS), 'saveFile', { suggestedName: 'x.csv', kind: 'csv', text: 42 }, /params\/text must be string/],
      [compileParamsChecks(LINEAGE_PARAMS), 'openManifest', { id: ['model:a@1'] }, /params\/id must be string/],
    ];
    for (const [checks, method, params, expected] of bad) {
      const problem = checks[method](params);
      assert.ok(problem, `${method} ${JSON.stringify(params)} must be refused`);
      assert.match(problem, expected, `${method} ${JSON.stringify(params)}: ${problem}`);
    }
  });

  it('the policy host refuses a hostile signModel before its handler runs', async () => {
    const called: unknown[] = [];
    const refused: string[] = [];
    const endpoint = new RpcEndpoint<PolicyContract['host'], MethodMap, NotificationMap, NotificationMap>(() => undefined, {
      checks: compileParamsChecks(POLICY_PARAMS),
      onRefused: (method, code, problem) => refused.push(`${method} ${code}: ${problem}`),
    });
    endpoint.handle('signModel', (p) => void called.push(p));
    const reply: ResponseMessage = await endpoint.serve({ kind: 'request', id: 1, method: 'signModel', params: { model: 'a', version: ['1'] } });
    assert.deepEqual(reply, { kind: 'response', id: 1, ok: false, error: { code: 'invalid-params', message: 'invalid params for "signModel": params/version must be string' } });
    assert.deepEqual(called, []);
    assert.deepEqual(refused, ['signModel invalid-params: invalid params for "signModel": params/version must be string']);
    const good = await endpoint.serve({ kind: 'request', id: 2, method: 'signModel', params: { model: 'a', version: '1' } });
    assert.equal(good.ok, true);
    assert.deepEqual(called, [{ model: 'a', version: '1' }]);
  });
});
