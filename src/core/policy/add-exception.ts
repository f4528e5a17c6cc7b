import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeAtomic } from '../workspace/atomic-write';
import { isMap, isSeq, parseDocument, YAMLSeq } from 'yaml';
import { UsageError } from '../util/errors';
import { defaultPolicyText, type PolicyException } from './load';

/** Appends an exception to policy.yaml with the yaml Document API, so comments and order survive. */
export async function addPolicyException(file: string, exception: PolicyException): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    text = defaultPolicyText();
  }
  const doc = parseDocument(text);
  if (doc.errors.length) throw new UsageError(`${file} does not parse: ${doc.errors[0].message}`, 'fix the YAML first; nothing was written');
  if (!isMap(doc.contents)) throw new UsageError(`${file} is not a YAML mapping`, 'the policy is a mapping with version: 1 at the top');
  let seq = doc.get('exceptions');
  if (!isSeq(seq)) {
    seq = new YAMLSeq();
    doc.set('exceptions', seq);
  }
  (seq as YAMLSeq).add(doc.createNode(exception));
  await mkdir(dirname(file), { recursive: true });
  await writeAtomic(file, doc.toString());
}
