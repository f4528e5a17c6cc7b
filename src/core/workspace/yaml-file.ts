import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { isCollection, isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** A position in a text file, 1-based like editors show it. */
export interface TextPosition {
  line: number;
  column: number;
}

/** One thing wrong with a YAML file: where, what, and how to fix it. */
export interface YamlProblem extends TextPosition {
  file: string;
  message: string;
  fix: string;
  /** The JSON path of the offending value, e.g. ['artifacts', 0, 'sha256']. */
  path: (string | number)[];
}

/** `file:line:col: what is wrong; how to fix` — the one format for bad input. */
export function formatProblem(p: YamlProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}; ${p.fix}`;
}

/** A parsed YAML file that remembers where each value came from. */
export class YamlFile {
  private constructor(
    readonly file: string,
    readonly text: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  static parse(text: string, file: string): { yaml: YamlFile; problems: YamlProblem[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const yaml = new YamlFile(file, text, doc, lines);
    const problems = doc.errors.map((e): YamlProblem => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      return { file, line: pos.line, column: pos.col, message: `invalid YAML: ${firstLine(e.message)}`, fix: 'fix the YAML syntax (indentation, quotes, a missing ":")', path: [] };
    });
    return { yaml, problems };
  }

  /** The plain value (objects, arrays, strings, numbers). */
  value(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /** Where a path points: the value's node, or for a missing key the nearest existing parent. */
  locate(path: readonly (string | number)[], key?: string): TextPosition {
    let node: unknown = this.doc.contents;
    for (const segment of path) {
      const next: unknown = isCollection(node) ? node.get(segment, true) : undefined;
      if (next === undefined || next === null) break;
      node = next;
    }
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (pair && isScalar(pair.key) && pair.key.range) return this.position(pair.key.range[0]);
    }
    const range = (node as Node | undefined)?.range;
    return this.position(range ? range[0] : 0);
  }

  position(offset: number): TextPosition {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

/** Compiles a JSON Schema (draft-07) with formats (date, date-time...) and every error reported. */
export function compileSchema(schema: object): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** Turns schema errors into problems with a line and a fix, pointing at the offending key or value. */
export function schemaProblems(yaml: YamlFile, errors: readonly ErrorObject[] | null | undefined): YamlProblem[] {
  if (!errors) return [];
  const seen = new Set<string>();
  const problems: YamlProblem[] = [];
  for (const e of errors) {
    // oneOf/anyOf report their branches too; the branch errors say more than "must match one".
    if (e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const path = e.instancePath.split('/').slice(1).map(unescapePointer).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    const where = describePath(path);
    let message: string;
    let fix: string;
    let pos: TextPosition;
    switch (e.keyword) {
      case 'required': {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        message = `${where ? where + ': ' : ''}missing required field "${missing}"`;
        fix = `add "${missing}:"${where ? ' under ' + where : ''}`;
        pos = yaml.locate(path);
        break;
      }
      case 'additionalProperties': {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        message = `${where ? where + ': ' : ''}unknown field "${extra}"`;
        fix = 'remove it or fix its spelling (the schema lists the known fields)';
        pos = yaml.locate(path, extra);
        break;
      }
      case 'enum': {
        const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
        message = `${where}: ${JSON.stringify(valueAt(yaml, path))} is not allowed`;
        fix = `use one of: ${allowed.join(', ')}`;
        pos = yaml.locate(path);
        break;
      }
      case 'pattern':
      case 'format':
        message = `${where}: ${JSON.stringify(valueAt(yaml, path))} is not a valid ${patternName(path, e)}`;
        fix = patternFix(path, e);
        pos = yaml.locate(path);
        break;
      case 'type':
        message = `${where}: must be ${article((e.params as { type: string }).type)}`;
        fix = `write ${article((e.params as { type: string }).type)} here`;
        pos = yaml.locate(path);
        break;
      default:
        message = `${where || 'the file'}: ${e.message ?? 'is invalid'}`;
        fix = 'see the schema description of this field';
        pos = yaml.locate(path);
    }
    const keyOf = `${pos.line}:${pos.column}:${message}`;
    if (seen.has(keyOf)) continue;
    seen.add(keyOf);
    problems.push({ file: yaml.file, line: pos.line, column: pos.column, message, fix, path });
  }
  return problems;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

function describePath(path: readonly (string | number)[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

function valueAt(yaml: YamlFile, path: readonly (string | number)[]): unknown {
  let v: unknown = yaml.value();
  for (const s of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[s] : undefined;
  return v;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function patternName(path: readonly (string | number)[], e: ErrorObject): string {
  const last = String(path[path.length - 1] ?? '');
  if (e.keyword === 'format') return (e.params as { format: string }).format;
  if (last === 'version') return 'semantic version';
  if (last === 'sha256') return 'sha256 (64 lowercase hex digits)';
  if (last === 'key_id') return 'key id (64 lowercase hex digits)';
  if (last === 'ref') return 'parent reference';
  if (last === 'name') return 'name';
  if (last === 'path') return 'relative path';
  return 'value';
}

function patternFix(path: readonly (string | number)[], e: ErrorObject): string {
  const last = String(path[path.length - 1] ?? '');
  if (e.keyword === 'format') {
    const f = (e.params as { format: string }).format;
    return f === 'date' ? 'write a date as YYYY-MM-DD' : f === 'date-time' ? 'write an ISO 8601 time such as 2025-01-31T12:00:00Z' : `write a valid ${f}`;
  }
  if (last === 'version') return 'use MAJOR.MINOR.PATCH, e.g. 1.0.0';
  if (last === 'sha256' || last === 'key_id') return 'use the 64 hex digits printed by `sovereign hash`';
  if (last === 'ref') return 'use NAME@VERSION of a registered model or sha256:HEX';
  if (last === 'name') return 'use letters, digits, ".", "_" or "-", starting with a letter or digit';
  if (last === 'path') return 'use a relative path with forward slashes and no ".."';
  return `match the pattern ${(e.params as { pattern?: string }).pattern ?? ''}`;
}
