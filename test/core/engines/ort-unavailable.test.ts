import { strict as assert } from 'node:assert';
import { loadOrt, ortUnavailable } from '../../../src/core/engines/onnx/onnx-engine';
import { SovereignError } from '../../../src/core/util/errors';

// The darwin-x64 VSIX carries no ONNX Runtime (onnxruntime-node 1.30 ships none for Intel macOS): loading it
// there must say so and what still works, not show a module-resolution stack.
describe('ONNX Runtime missing for the platform', () => {
  it('loads here (linux-x64 has its build)', () => {
    assert.equal(typeof loadOrt().InferenceSession.create, 'function');
  });

  it('names the platform and what to do, on Intel macOS and elsewhere', () => {
    const resolveError = Object.assign(new Error("Cannot find module '../bin/napi-v6/darwin/x64/onnxruntime_binding.node'\nRequire stack:\n- /x/dist/engine-host.js"), { code: 'MODULE_NOT_FOUND' });
    const mac = ortUnavailable(resolveError, 'darwin', 'x64');
    assert.ok(mac instanceof SovereignError);
    assert.equal(mac.exitCode, 2);
    assert.match(mac.message, /^ONNX Runtime is not available on darwin-x64: Cannot find module .*onnxruntime_binding\.node'/);
    assert.doesNotMatch(mac.message, /Require stack/);
    assert.match(mac.hint ?? '', /no Intel macOS build.*GGUF models run here/);
    assert.match(ortUnavailable(resolveError, 'linux', 'arm64').hint ?? '', /VSIX built for this platform/);
  });
});
