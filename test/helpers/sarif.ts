import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv04, { type ValidateFunction } from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import type * as Sarif from 'sarif';
import { REPO_ROOT } from './cli';

/**
 * SARIF checks shared by every test that reads a SARIF log the CLI wrote (scan, policy check, and any other
 * `--format sarif`):
 *   1. the official OASIS SARIF 2.1.0 JSON schema (sarif-2.1.0-rtm.5, draft-04), shipped in
 *      @microsoft/jest-sarif, compiled by ajv-draft-04 + ajv-formats;
 *   2. what GitHub code scanning needs to show an alert where it belongs (docs.github.com "SARIF support for
 *      code scanning"): rules with short and full descriptions, help text and a help URI; results whose
 *      ruleId is a rule of the run; locations relative to the repository (`uriBaseId: %SRCROOT%`) with a
 *      region whose startLine >= 1; partialFingerprints; runs[].automationDetails.id.
 */

const SCHEMA_PATH = join(REPO_ROOT, 'node_modules', '@microsoft', 'jest-sarif', 'lib', 'schemas', 'sarif-2.1.0-rtm.5.json');

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv04({ strict: false, unicodeRegExp: false, allErrors: true });
    addFormats(ajv);
    compiled = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object);
  }
  return compiled;
}

/** Schema errors of a SARIF log, one line each (`/runs/0/results/1/locations/0/...: message`); empty when valid. */
export function sarifSchemaErrors(log: unknown): string[] {
  const validate = validator();
  if (validate(log)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? ''} ${JSON.stringify(e.params ?? {})}`);
}

/** What GitHub code scanning needs beyond the schema; returns the problems found (empty when fine). */
export function githubSarifProblems(log: Sarif.Log): string[] {
  const problems: string[] = [];
  if (log.version !== '2.1.0') problems.push(`version ${log.version}: GitHub accepts 2.1.0 only`);
  log.runs.forEach((run, r) => {
    const at = `runs[${r}]`;
    if (!run.automationDetails?.id) problems.push(`${at}.automationDetails.id is missing (GitHub uses it as the analysis category)`);
    const rules = run.tool.driver.rules ?? [];
    const ids = new Set(rules.map((rule) => rule.id));
    rules.forEach((rule, i) => {
      const where = `${at}.tool.driver.rules[${i}] (${rule.id})`;
      if (!rule.shortDescription?.text) problems.push(`${where}: no shortDescription.text`);
      if (!rule.fullDescription?.text) problems.push(`${where}: no fullDescription.text`);
      if (!rule.help?.text) problems.push(`${where}: no help.text`);
      if (!rule.help?.markdown) problems.push(`${where}: no help.markdown`);
      if (!rule.helpUri || !/^https:\/\//.test(rule.helpUri)) problems.push(`${where}: no https helpUri`);
      if (rule.properties?.['security-severity'] !== undefined && !/^\d+(\.\d+)?$/.test(String(rule.properties['security-severity']))) {
        problems.push(`${where}: security-severity must be a number in a string`);
      }
    });
    (run.results ?? []).forEach((result, i) => {
      const where = `${at}.results[${i}]`;
      if (!result.ruleId || !ids.has(result.ruleId)) problems.push(`${where}: ruleId ${result.ruleId} is not a rule of the run`);
      if (!result.message?.text) problems.push(`${where}: no message.text`);
      if (!result.partialFingerprints || !Object.keys(result.partialFingerprints).length) problems.push(`${where}: no partialFingerprints`);
      if (!result.locations?.length) problems.push(`${where}: no location`);
      for (const loc of result.locations ?? []) {
        const art = loc.physicalLocation?.artifactLocation;
        if (!art?.uri) {
          problems.push(`${where}: location without artifactLocation.uri`);
          continue;
        }
        if (/^[a-z][a-z0-9+.-]*:/i.test(art.uri) || art.uri.startsWith('/')) problems.push(`${where}: uri ${art.uri} is not relative to the repository`);
        else if (art.uriBaseId !== '%SRCROOT%') problems.push(`${where}: relative uri ${art.uri} without uriBaseId %SRCROOT%`);
        if (art.uri.split('/').includes('..')) problems.push(`${where}: uri ${art.uri} leaves the repository`);
        const region = loc.physicalLocation?.region;
        if (!region || !(Number.isInteger(region.startLine) && region.startLine! >= 1)) problems.push(`${where}: region.startLine >= 1 is required by GitHub`);
      }
    });
  });
  return problems;
}

/** Asserts a SARIF log is valid against the official schema and usable by GitHub code scanning. */
export function assertValidSarif(log: unknown): asserts log is Sarif.Log {
  const schema = sarifSchemaErrors(log);
  assert.deepEqual(schema, [], `SARIF schema errors:\n${schema.join('\n')}`);
  const gh = githubSarifProblems(log as Sarif.Log);
  assert.deepEqual(gh, [], `SARIF problems for GitHub code scanning:\n${gh.join('\n')}`);
}
