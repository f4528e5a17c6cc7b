/**
 * Finds duplicate keys in JSON text. JSON.parse silently keeps the last of two equal keys, while other
 * readers keep the first or refuse: a duplicate lets two tools see two different tensors under one name.
 * This scanner only tracks object keys (decoded with JSON.parse, so "a" and "\u0061" are the same key);
 * the text must already be valid JSON (parse it first). Iterative: deep nesting cannot overflow the stack.
 */
export interface DuplicateKey {
  key: string;
  /** Path of the object holding it, e.g. `$` or `$["weight"]`. */
  path: string;
}

interface Scope {
  isObject: boolean;
  keys?: Set<string>;
  expectKey: boolean;
  /** The most recent key read in this object (the parent key of a nested value). */
  lastKey?: string;
}

export function findDuplicateKeys(text: string, max = 20): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  const stack: Scope[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length && text.charCodeAt(j) !== 0x22) {
        if (text.charCodeAt(j) === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else j++;
      }
      const top = stack[stack.length - 1];
      if (top?.isObject && top.expectKey) {
        // Only keys with escapes need decoding to compare ("\u0061" is "a").
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (top.keys!.has(key)) {
          if (found.length < max) found.push({ key, path: pathOf(stack) });
        } else top.keys!.add(key);
        top.expectKey = false;
        top.lastKey = key;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push({ isObject: true, keys: new Set(), expectKey: true });
    } else if (c === 0x5b /* [ */) {
      stack.push({ isObject: false, expectKey: false });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top?.isObject) top.expectKey = true;
    }
  }
  return found;
}

/** `$["a"]["b"]` for the innermost object; built only when a duplicate is reported. */
function pathOf(stack: readonly Scope[]): string {
  let path = '$';
  for (let k = 0; k < stack.length - 1; k++) path += stack[k].isObject ? `[${JSON.stringify(stack[k].lastKey ?? '')}]` : '[]';
  return path;
}
