/**
 * The params schema of each host method of a view, declared next to its contract (`webview/<view>/schema.ts`)
 * and checked by the host before the handler runs (src/extension/webviews/params-checks.ts compiles them
 * with Ajv). Types only here: the browser bundles never load Ajv.
 *
 * `JSONSchemaType<Params>` ties each schema to the contract's params type, so a change to the contract
 * that the schema does not follow is a compile error (a new method without a schema is one too).
 */
import type { JSONSchemaType } from 'ajv';
import type { ParamsOf, ViewContract } from './ipc';

/** A method whose params are `undefined` takes none: its entry is `null` (params must be absent or null). */
export type ParamsSchemas<C extends ViewContract> = {
  readonly [K in keyof C['host'] & string]-?: [ParamsOf<C['host'], K>] extends [undefined] ? null : JSONSchemaType<ParamsOf<C['host'], K>>;
};

/** Bounds shared by the schemas: long enough for any real value, short enough to refuse junk early. */
export const LIMITS = {
  /** A repository-relative path, a file name. */
  path: 4_096,
  /** A model name, a version, a rule id. */
  name: 256,
  /** Exported chart or CSV text / base64 (a large PNG is a few MB). */
  exportChars: 64 * 1024 * 1024,
} as const;
