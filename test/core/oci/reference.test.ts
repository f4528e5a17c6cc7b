import { strict as assert } from 'node:assert';
import { resolve } from 'node:path';
import { parseChallenge } from '../../../src/core/oci/auth';
import { parseOciReference } from '../../../src/core/oci/reference';
import { UsageError } from '../../../src/core/util/errors';

describe('OCI references and auth challenges', () => {
  it('parses registry references: host[:port], nested repositories, tag, digest', () => {
    assert.deepEqual(parseOciReference('oci://127.0.0.1:5000/team/coder:1.0.0'), { kind: 'registry', host: '127.0.0.1:5000', repository: 'team/coder', tag: '1.0.0', digest: undefined });
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseOciReference(`oci://registry.internal/models/x@${digest}`), { kind: 'registry', host: 'registry.internal', repository: 'models/x', tag: undefined, digest });
    assert.deepEqual(parseOciReference('oci://[::1]:5000/r'), { kind: 'registry', host: '[::1]:5000', repository: 'r', tag: undefined, digest: undefined });
  });

  it('parses layout references the way skopeo writes them (oci:DIR[:TAG]), and oci-layout:', () => {
    assert.deepEqual(parseOciReference('oci:/tmp/x:1.0.0'), { kind: 'layout', dir: '/tmp/x', tag: '1.0.0', digest: undefined });
    assert.deepEqual(parseOciReference('oci-layout:rel/dir'), { kind: 'layout', dir: resolve('rel/dir'), tag: undefined, digest: undefined });
  });

  it('refuses what is not a reference, with the syntax in the hint (exit 2)', () => {
    for (const bad of ['docker://x/y', 'oci://host', 'oci://host/UPPER', 'oci://host/r:bad tag', 'oci://host/r@sha256:short', 'oci:']) {
      assert.throws(() => parseOciReference(bad), (err: unknown) => err instanceof UsageError && err.exitCode === 2, bad);
    }
  });

  it('parses WWW-Authenticate challenges (quoted values with commas, escapes)', () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), {
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' },
    });
    assert.deepEqual(parseChallenge('Basic realm="test \\"quoted\\""'), { scheme: 'basic', params: { realm: 'test "quoted"' } });
    assert.equal(parseChallenge(undefined), undefined);
  });
});
