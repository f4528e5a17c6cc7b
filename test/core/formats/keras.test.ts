import assert from 'node:assert/strict';
import { analyzeSource, BufferSource, type FormatAnalysis } from '../../../src/core/formats';
import { writeZip } from '../../fixtures/zip/zip-writer';

const analyze = (bytes: Buffer, name: string): Promise<FormatAnalysis> => analyzeSource(new BufferSource(name, bytes, 0));
const layer = (cls: string, config: Record<string, unknown>, module = 'keras.layers') => ({ module, class_name: cls, config, registered_name: null });

function kerasConfig(layers: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ module: 'keras', class_name: 'Sequential', config: { name: 'sequential', layers }, registered_name: null }));
}

function kerasArchive(layers: unknown[]): Buffer {
  return writeZip([
    { name: 'metadata.json', data: Buffer.from('{"keras_version": "3.6.0", "date_saved": "2025-01-01@00:00:00"}') },
    { name: 'config.json', data: kerasConfig(layers), method: 8 },
    { name: 'model.weights.h5', data: fakeHdf5('') },
  ]);
}

/** HDF5 signature, a superblock byte and attribute-like bytes (the analyzer searches bytes, as h5py stores them). */
function fakeHdf5(modelConfig: string): Buffer {
  const magic = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 0x00]);
  const attrs = modelConfig ? Buffer.from(`\0\0keras_version\0\x003.1.0\0\0model_config\0\0\0${modelConfig}\0\0\0`, 'latin1') : Buffer.alloc(0);
  return Buffer.concat([magic, Buffer.alloc(503), attrs, Buffer.alloc(2048)]);
}

const dense = layer('Dense', { name: 'dense', units: 4, activation: { module: 'keras.activations', class_name: 'function', config: 'relu', registered_name: 'relu' } });

describe('keras models', () => {
  it('passes a plain .keras archive and reports keras with layer facts', async () => {
    const a = await analyze(kerasArchive([layer('InputLayer', { name: 'input', batch_shape: [null, 3] }), dense]), 'model.keras');
    assert.equal(a.format, 'keras');
    assert.deepEqual(a.findings, []);
    const keras = a.facts.keras as Record<string, unknown>;
    assert.equal(keras.lambdaLayers, 0);
    assert.ok((keras.layers as number) >= 2);
  });

  it('flags Lambda layers (arbitrary Python) as high', async () => {
    const lambda = layer('Lambda', { name: 'evil', function: { class_name: '__lambda__', config: { code: 'YmFzZTY0IG1hcnNoYWw=', defaults: null, closure: null } } });
    const a = await analyze(kerasArchive([dense, lambda]), 'model.keras');
    assert.equal(a.format, 'keras');
    const rules = a.findings.map((f) => `${f.severity} ${f.rule}`);
    assert.ok(rules.includes('high keras/lambda-layer'), JSON.stringify(a.findings));
    assert.ok(rules.includes('high keras/python-function'));
    assert.match(a.findings[0].location ?? '', /model\.keras!config\.json/);
  });

  it('flags modules outside Keras (the loader imports them) and TFOpLambda calls', async () => {
    const custom = layer('MyLayer', { name: 'mine' }, 'my_package.layers');
    const tfop = layer('TFOpLambda', { name: 'op', function: 'io.write_file' });
    const a = await analyze(kerasArchive([custom, tfop]), 'model.keras');
    assert.ok(a.findings.some((f) => f.rule === 'keras/foreign-module' && f.severity === 'high' && f.message.includes('my_package.layers')));
    assert.ok(a.findings.some((f) => f.rule === 'keras/tf-op-lambda' && f.severity === 'high'));
  });

  it('finds the model_config of a legacy .h5 and flags its Lambda layer', async () => {
    const legacy = JSON.stringify({ class_name: 'Sequential', config: { name: 'seq', layers: [{ class_name: 'Lambda', config: { name: 'lambda_1', function: ['4wEAAAAAAAAA', null, null], function_type: 'lambda' } }] } });
    const a = await analyze(fakeHdf5(legacy), 'model.h5');
    assert.equal(a.format, 'hdf5');
    assert.equal(a.facts.kerasModel, true);
    assert.ok(a.findings.some((f) => f.rule === 'keras/lambda-layer' && f.severity === 'high'), JSON.stringify(a.findings));
  });

  it('reports an HDF5 file without a Keras config as hdf5 with no findings', async () => {
    const a = await analyze(fakeHdf5(''), 'weights.h5');
    assert.equal(a.format, 'hdf5');
    assert.equal(a.facts.kerasModel, false);
    assert.deepEqual(a.findings, []);
  });

  it('still flags a Lambda when the embedded config is not parseable JSON', async () => {
    const a = await analyze(fakeHdf5('{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {'), 'broken.h5');
    assert.ok(a.findings.some((f) => f.rule === 'keras/lambda-layer'));
  });
});
