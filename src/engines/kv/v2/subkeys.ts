import { isPlainObject } from '../../../framework/fields.js';
import { setMember } from './merge-patch.js';

type JsonObject = Record<string, unknown>;

/**
 * Returns the key structure of secret data with every leaf replaced by `null`. A leaf is any value
 * that is not an object, or an object with no members. With `depth` above 0, members at that
 * nesting level are leaves too (level 1 is the top level); 0 means no limit.
 */
export function extractSubkeys(data: JsonObject, depth: number): JsonObject {
  return walk(data, 1, depth);
}

function walk(node: JsonObject, level: number, depth: number): JsonObject {
  const result: JsonObject = {};
  for (const [name, value] of Object.entries(node)) {
    const withinDepth = depth === 0 || level < depth;
    if (isPlainObject(value) && Object.keys(value).length > 0 && withinDepth) {
      setMember(result, name, walk(value, level + 1, depth));
    } else {
      setMember(result, name, null);
    }
  }
  return result;
}
