import { Document } from 'yaml';
import { YamlFile, type YamlProblem } from '../workspace/yaml-file';

/**
 * Aliases live in ONE place per model: `.sovereign/models/NAME/aliases.yaml`, a mapping alias -> version.
 * One version per alias; an alias is a mutable pointer (MLflow's `models:/name@champion`), moved by a git
 * commit. Keeping them out of the manifests means moving an alias never edits (and never invalidates the
 * signature of) an immutable version manifest.
 */
export type AliasMap = Record<string, string>;

export const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

export function parseAliases(text: string, file: string): { aliases: AliasMap; problems: YamlProblem[] } {
  const { yaml, problems } = YamlFile.parse(text, file);
  if (problems.length) return { aliases: {}, problems };
  const value = yaml.value();
  if (value === null || value === undefined) return { aliases: {}, problems: [] };
  if (typeof value !== 'object' || Array.isArray(value)) {
    return { aliases: {}, problems: [{ file, ...yaml.position(0), message: 'aliases must be a mapping alias: version', fix: 'write lines such as `production: 1.2.0`', path: [] }] };
  }
  const aliases: AliasMap = {};
  const found: YamlProblem[] = [];
  for (const [alias, version] of Object.entries(value as Record<string, unknown>)) {
    if (!ALIAS_NAME.test(alias)) {
      found.push({ file, ...yaml.locate([], alias), message: `"${alias}" is not a valid alias name`, fix: 'use a letter then letters, digits, ".", "_" or "-"', path: [alias] });
    } else if (typeof version !== 'string') {
      found.push({ file, ...yaml.locate([alias]), message: `alias "${alias}" must point at a version string`, fix: `write ${alias}: "1.0.0"`, path: [alias] });
    } else {
      aliases[alias] = version;
    }
  }
  return { aliases, problems: found };
}

export function serializeAliases(name: string, aliases: AliasMap): string {
  const sorted: AliasMap = {};
  for (const k of Object.keys(aliases).sort()) sorted[k] = aliases[k];
  const doc = new Document(sorted);
  doc.commentBefore = ` Aliases of ${name}: alias -> version (one version per alias). Move with \`sovereign registry alias ${name}@VERSION ALIAS\`.`;
  return doc.toString();
}
