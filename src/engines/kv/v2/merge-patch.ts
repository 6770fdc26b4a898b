import { isPlainObject } from '../../../framework/fields.js';

/**
 * Applies a JSON merge patch (RFC 7396) to an object and returns the result; neither input is
 * changed. A `null` member removes that member, a nested object merges recursively, and any other
 * value, arrays included, replaces the target member whole.
 */
export function applyMergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[name];
    } else if (isPlainObject(value)) {
      const current = Object.hasOwn(result, name) ? result[name] : undefined;
      setMember(result, name, applyMergePatch(isPlainObject(current) ? current : {}, value));
    } else {
      setMember(result, name, value);
    }
  }
  return result;
}

/**
 * Sets a member as an own data property. Plain assignment of a member named `__proto__`, which
 * JSON can carry, would replace the object's prototype instead of storing the member.
 */
export function setMember(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
