import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml';
import { valid as validSemver } from 'semver';
import schema from '../../../schemas/manifest.schema.json';
import type { ModelManifest } from './manifest';
import { compileSchema } from '../workspace/yaml-file';

/*
 * The fast path of the registry index. `parseManifest` (the `yaml` package with a LineCounter) keeps every
 * node's position so that problems can say file:line:col; that costs ~0.4 ms a manifest, 4+ s for 10,000.
 * Positions are only needed when something is wrong, so the index first tries js-yaml (~10x faster, no
 * positions) and accepts the result only when the file is unquestionably good; anything else (a syntax or
 * schema error, or YAML the two parsers might read differently) goes to `parseManifest`, which stays the
 * single source of truth for what is wrong and where. The contract, checked by test/core/registry/
 * read-fast.test.ts on a varied corpus and on thousands of mutated manifests:
 *
 *   fastManifest(text) returns a manifest  =>  parseManifest(text) returns the same manifest, no problems.
 */

/**
 * Scalars resolve exactly as in the `yaml` package's YAML 1.2 core schema (yaml/dist/schema/core/*.js):
 * same patterns, same conversions. Every plain scalar is tried against each type in turn, so each test
 * first looks at the first character (most scalars are names and paths, rejected without a RegExp).
 */
const CORE_SCALARS = [
  new Type('tag:yaml.org,2002:null', {
    kind: 'scalar',
    resolve: (s: string) => s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL',
    construct: () => null,
  }),
  new Type('tag:yaml.org,2002:bool', {
    kind: 'scalar',
    resolve: (s: string) => s === 'true' || s === 'True' || s === 'TRUE' || s === 'false' || s === 'False' || s === 'FALSE',
    construct: (s: string) => s[0] === 't' || s[0] === 'T',
  }),
  new Type('tag:yaml.org,2002:int', {
    kind: 'scalar',
    resolve: (s: string) => startsNumeric(s, false) && (/^[-+]?[0-9]+$/.test(s) || /^0o[0-7]+$/.test(s) || /^0x[0-9a-fA-F]+$/.test(s)),
    construct: (s: string) => (s[1] === 'o' ? parseInt(s.substring(2), 8) : s[1] === 'x' ? parseInt(s.substring(2), 16) : parseInt(s, 10)),
  }),
  new Type('tag:yaml.org,2002:float', {
    kind: 'scalar',
    resolve: (s: string) =>
      startsNumeric(s, true) &&
      (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(s) ||
        /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(s) ||
        /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(s)),
    construct: (s: string) =>
      s.slice(-3).toLowerCase() === 'nan' ? NaN : /inf$/i.test(s) ? (s[0] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY) : parseFloat(s),
  }),
];

/** Whether a scalar can start a number: a digit or sign, or for floats also "." (.5, .inf, .nan). */
function startsNumeric(s: string, dot: boolean): boolean {
  const c = s.charCodeAt(0);
  return (c >= 48 && c <= 57) || c === 43 || c === 45 || (dot && c === 46);
}
const YAML_CORE_AS_YAML_PACKAGE = FAILSAFE_SCHEMA.extend({ implicit: CORE_SCALARS });

/**
 * YAML the two parsers could read differently, or that only the positional parser handles safely; such a
 * file takes the slow path (still correct, only slower). Conservative on purpose: a false alarm costs
 * 0.4 ms, a miss could hide a problem.
 * - `%` directives (a `%YAML 1.1` switches the `yaml` package to YAML 1.1 scalars);
 * - anchors, aliases and tags (`&a`, `*a`, `!tag`): alias expansion limits, and explicit types;
 * - non-empty flow collections and explicit `?` keys: keys that are not plain strings;
 * - a null key (`: x`, `~: x`, `null: x`): the `yaml` package names it "", js-yaml "null";
 * - a comment right after a quoted scalar or flow collection (`"a"#c`, `{}#c`): an error for `yaml` only;
 * - a tab in the indentation of a line (js-yaml accepts some in block scalars, `yaml` none);
 * - an empty sequence item (`-` alone): js-yaml then accepts a next `-` indented less than the first;
 * - a carriage return not followed by a line feed;
 * - a quoted scalar over several lines (js-yaml accepts continuation lines indented too little);
 * - a line of 1,024+ characters: the YAML limit on implicit keys, enforced by one parser only.
 */
// Several small expressions and a loop: one alternation of everything is 5x slower in V8 (~10 us a file).
const SUSPICIOUS = [
  /^%|(?:^|[\s[\]{},])[&*!]|[[{](?![\]}])|(?:^|[\s[{,])\?(?:[ \t]|$)/m, // directive, anchor/alias/tag, flow, `?` key
  /(?:^|[\s[{,-])(?:~|null|Null|NULL)?[ \t]*:(?:[ \t]|$)/m, // null key
  /["'\]}]#/, // comment right after a quoted scalar or a flow collection
  /^[ \t]*\t/m, // tab in a line's indentation (js-yaml lets some through in block scalars)
  /^[ \t]*-[ \t]*(?:#.*)?$/m, // empty sequence item: js-yaml then accepts a next item indented too little
  /\r(?!\n)/, // carriage return alone: a line break for js-yaml (as YAML 1.2 says), text for `yaml`
  /(?:^|[\s:,\-[{])(?:"(?:[^"\\\n]|\\.)*\\?|'(?:[^'\n]|'')*)\n/, // quoted scalar still open at the end of its line
];
const MAX_LINE = 1023;

function needsSlowPath(text: string): boolean {
  if (SUSPICIOUS.some((re) => re.test(text))) return true;
  for (let start = 0; ; ) {
    const end = text.indexOf('\n', start);
    if ((end < 0 ? text.length : end) - start > MAX_LINE) return true;
    if (end < 0) return false;
    start = end + 1;
  }
}

let validator: ReturnType<typeof compileSchema> | undefined;

/**
 * The manifest in `text` when it is certainly valid (as `parseManifest(text, file, expected)` would find
 * it, with the same value); undefined when it may not be: call `parseManifest` for the verdict and the
 * positions of the problems.
 */
export function fastManifest(text: string, expected: { name: string; version: string }): ModelManifest | undefined {
  if (needsSlowPath(text)) return undefined;
  let value: unknown;
  try {
    value = load(text, { schema: YAML_CORE_AS_YAML_PACKAGE });
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  validator ??= compileSchema(schema);
  if (!validator(value)) return undefined;
  // The checks parseManifest makes beyond the schema (keep in step with manifest.ts).
  const m = value as ModelManifest;
  if (!validSemver(m.version) || m.name !== expected.name || m.version !== expected.version) return undefined;
  const paths = new Set<string>();
  for (const a of m.artifacts) {
    if (paths.has(a.path)) return undefined;
    paths.add(a.path);
  }
  return m;
}
