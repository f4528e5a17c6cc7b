/**
 * Sets a key on a plain object as an own data property. Keys come from untrusted files, and a plain
 * assignment of "__proto__" would change the object's prototype instead of storing the value.
 */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

export function hasOwn(record: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key);
}
