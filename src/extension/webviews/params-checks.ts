/**
 * Compiles a view's params schemas (declared next to its contract, `webview/<view>/schema.ts`) into the
 * checks the host's RPC endpoint runs before any handler: a webview is not trusted input (it shows
 * model-supplied text), so a request whose params do not match its method's schema never reaches the
 * handler. No `vscode` here: the unit tests compile the real schemas in Node.
 */
import Ajv from 'ajv';
import type { ParamsCheck, ParamsChecks, ViewContract } from '../../../webview/shared/ipc';
import type { ParamsSchemas } from '../../../webview/shared/params-schema';

// Strict: a schema keyword Ajv does not know is an error when compiling, not a silently ignored rule.
// No coercion, no defaults, nothing removed: params are checked as they came, never rewritten.
const ajv = new Ajv({ strict: true, allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false });
const compiled = new WeakMap<object, { readonly [method: string]: ParamsCheck }>();

/** A method that takes no params: they must be absent (or null, as JSON may carry "nothing"). */
const noParams: ParamsCheck = (params) => (params === undefined || params === null ? undefined : `it takes no params, got ${describe(params)}`);

function describe(value: unknown): string {
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The checks of every host method of a view (compiled once per schema set). */
export function compileParamsChecks<C extends ViewContract>(schemas: ParamsSchemas<C>): ParamsChecks<C['host']> {
  const cached = compiled.get(schemas);
  if (cached) return cached as ParamsChecks<C['host']>;
  // A null-prototype map: a method name from the webview is never found through Object.prototype.
  const checks = Object.create(null) as { [method: string]: ParamsCheck };
  for (const [method, schema] of Object.entries(schemas) as [string, object | null][]) {
    if (schema === null) {
      checks[method] = noParams;
      continue;
    }
    const validate = ajv.compile(schema);
    checks[method] = (params) => (validate(params) ? undefined : ajv.errorsText(validate.errors, { dataVar: 'params', separator: '; ' }));
  }
  Object.freeze(checks);
  compiled.set(schemas, checks);
  return checks as ParamsChecks<C['host']>;
}
