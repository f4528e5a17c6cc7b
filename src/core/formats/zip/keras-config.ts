import type { Finding } from '../findings';

/**
 * Keras model configs (config.json in .keras archives, the model_config attribute of legacy .h5 files)
 * name the classes and functions the loader builds. Lambda layers carry Python bytecode (or a function
 * reference) that runs at load or call time; `module` fields outside Keras make the loader import other
 * code (CVE-2025-1550 style). Anything else is a plain layer description.
 */

const KERAS_MODULES = /^(keras|tf_keras|tensorflow\.keras|tensorflow\.python\.keras)(\.|$)/;
const MAX_NODES = 1_000_000;

export interface KerasJudgement {
  findings: Finding[];
  facts: { layers: number; lambdaLayers: number; classNames: string[]; foreignModules: string[] };
}

export function judgeKerasConfig(config: unknown, location: string): KerasJudgement {
  const findings: Finding[] = [];
  const classNames = new Set<string>();
  const foreign = new Set<string>();
  let layers = 0;
  let lambdas = 0;
  let nodes = 0;
  const visit = (v: unknown, depth: number): void => {
    if (++nodes > MAX_NODES || depth > 200 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const item of v) visit(item, depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    const cls = typeof o.class_name === 'string' ? o.class_name : undefined;
    const cfg = o.config && typeof o.config === 'object' ? (o.config as Record<string, unknown>) : undefined;
    const name = typeof cfg?.name === 'string' ? ` "${cfg.name}"` : '';
    if (cls !== undefined) {
      if (classNames.size < 500) classNames.add(cls);
      if (cfg && 'name' in cfg) layers++;
      if (cls === 'Lambda') {
        lambdas++;
        const fn = cfg?.function;
        const how = Array.isArray(fn) || typeof fn === 'string' ? 'marshalled Python bytecode' : fn && typeof fn === 'object' ? 'a serialized function' : 'a function';
        findings.push({ rule: 'keras/lambda-layer', severity: 'high', message: `Lambda layer${name} carries ${how} that runs arbitrary Python when the model is loaded or called`, location });
      } else if (cls === '__lambda__' || cls === 'function' && typeof o.module === 'string' && !KERAS_MODULES.test(o.module)) {
        findings.push({ rule: 'keras/python-function', severity: 'high', message: `serialized Python function (${cls}${typeof o.module === 'string' ? ` from ${o.module}` : ''}) runs code when the model is loaded`, location });
      } else if (cls === 'TFOpLambda' || cls === 'SlicingOpLambda') {
        const fn = typeof cfg?.function === 'string' ? cfg.function : '?';
        findings.push({ rule: 'keras/tf-op-lambda', severity: /io|file|write|read|system|py_func|numpy_function|load|exec/i.test(fn) ? 'high' : 'medium', message: `${cls} layer${name} calls the TensorFlow function "${fn}" by name`, location });
      }
    }
    if (typeof o.module === 'string' && !KERAS_MODULES.test(o.module) && !foreign.has(o.module)) {
      foreign.add(o.module);
      findings.push({ rule: 'keras/foreign-module', severity: 'high', message: `the config makes the loader import module "${o.module}"${cls ? ` for ${cls}` : ''}: code outside Keras runs at load`, location });
    }
    for (const [k, child] of Object.entries(o)) if (k !== 'module') visit(child, depth + 1);
  };
  visit(config, 0);
  return { findings, facts: { layers, lambdaLayers: lambdas, classNames: [...classNames], foreignModules: [...foreign] } };
}
