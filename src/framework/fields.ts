import { BadRequestError } from '../errors.js';
import { parseDuration } from './duration.js';
import type { FieldSpec, FieldValues } from './types.js';

/**
 * Validates raw request data against a path's field schema and converts each value to its declared
 * type. Keys the schema does not declare are left out of the values and returned in `ignored`
 * (unless `allowUnknown` is set), because Vault ignores them with a warning and clients such as
 * node-vault send extra keys.
 */
export function validateFields(
  schema: Record<string, FieldSpec>,
  raw: Record<string, unknown>,
  allowUnknown: boolean,
): { values: FieldValues; ignored: string[] } {
  const values: FieldValues = {};
  const ignored = allowUnknown ? [] : Object.keys(raw).filter((key) => !Object.hasOwn(schema, key));
  for (const [name, spec] of Object.entries(schema)) {
    const value = raw[name];
    if (value === undefined || value === null) {
      if (spec.required) throw new BadRequestError(`missing required field "${name}"`);
      if (spec.default !== undefined) values[name] = spec.default;
      continue;
    }
    values[name] = convertField(name, spec, value);
  }
  return { values, ignored: ignored.sort() };
}

function convertField(name: string, spec: FieldSpec, value: unknown): unknown {
  switch (spec.type) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      throw typeError(name, 'a string');
    case 'int':
      return convertInt(name, value);
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0' || value === '') return false;
      throw typeError(name, 'a boolean');
    case 'duration':
      return parseDuration(value, `value for "${name}"`);
    case 'map':
      if (isPlainObject(value)) return value;
      throw typeError(name, 'an object');
    case 'string-map':
      return convertStringMap(name, value);
    case 'array':
      if (Array.isArray(value)) return value;
      throw typeError(name, 'an array');
    case 'comma-string-list':
      return convertStringList(name, value);
    case 'any':
      return value;
  }
}

function convertInt(name: string, value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw typeError(name, 'a whole number');
  return n;
}

function convertStringMap(name: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value)) throw typeError(name, 'an object of strings');
  const result: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw typeError(`${name}.${k}`, 'a string');
    result[k] = v;
  }
  return result;
}

function convertStringList(name: string, value: unknown): string[] {
  const items = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(items)) throw typeError(name, 'a list of strings or a comma-separated string');
  const result: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') throw typeError(name, 'a list of strings');
    const trimmed = item.trim();
    if (trimmed !== '') result.push(trimmed);
  }
  return result;
}

function typeError(name: string, expected: string): BadRequestError {
  return new BadRequestError(`invalid value for "${name}": expected ${expected}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
