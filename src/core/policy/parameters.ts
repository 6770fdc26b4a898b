import type { ParameterValue } from './types.js';

/**
 * Request parameter checks of a path rule: `required_parameters`, `denied_parameters` and
 * `allowed_parameters`, in that order, as Vault documents them.
 *
 * A list value, or a string with commas, is also checked element by element, as Vault 1.21 and
 * later do. A value is denied when the whole value or any element matches a denied entry. It is
 * allowed when the whole value or every element matches an allowed entry.
 */
export interface ParameterRules {
  required: Iterable<string>;
  allowed: ReadonlyMap<string, ParameterValue[]>;
  denied: ReadonlyMap<string, ParameterValue[]>;
}

/** Returns why the request data breaks the rules, or null when it satisfies them. */
export function checkParameters(rules: ParameterRules, data: Record<string, unknown>): string | null {
  const entries = Object.entries(data).map(([key, value]) => [key.toLowerCase(), value] as const);
  const present = new Set(entries.map(([key]) => key));
  for (const name of rules.required) {
    if (!present.has(name)) return `missing required parameter "${name}"`;
  }
  if (entries.length === 0) return null;

  if (rules.denied.has('*')) return 'all parameters are denied on this path';
  for (const [key, value] of entries) {
    const deniedValues = rules.denied.get(key);
    if (deniedValues !== undefined && isDenied(value, deniedValues)) {
      return `parameter "${key}" has a denied value`;
    }
  }

  if (rules.allowed.size === 0) return null;
  const allowAny = rules.allowed.has('*');
  for (const [key, value] of entries) {
    const allowedValues = rules.allowed.get(key);
    if (allowedValues === undefined) {
      if (allowAny) continue;
      return `parameter "${key}" is not allowed`;
    }
    if (!isAllowed(value, allowedValues)) return `parameter "${key}" has a value that is not allowed`;
  }
  return null;
}

function isDenied(value: unknown, deniedValues: ParameterValue[]): boolean {
  if (deniedValues.length === 0) return true;
  if (matchesAny(value, deniedValues)) return true;
  return elementsOf(value).some((element) => matchesAny(element, deniedValues));
}

function isAllowed(value: unknown, allowedValues: ParameterValue[]): boolean {
  if (allowedValues.length === 0) return true;
  if (matchesAny(value, allowedValues)) return true;
  const elements = elementsOf(value);
  return elements.length > 0 && elements.every((element) => matchesAny(element, allowedValues));
}

/** Splits a list value, or a string with commas, into its elements. */
function elementsOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string' && value.includes(',')) return value.split(',').map((part) => part.trim());
  return [];
}

function matchesAny(value: unknown, entries: ParameterValue[]): boolean {
  return entries.some((entry) => matchesEntry(entry, value));
}

/**
 * Compares one policy entry with one request value. A string entry that starts or ends with `*`
 * is a glob: `foo-*` matches by prefix, `*-foo` by suffix, `*foo*` by substring, and a lone `*`
 * matches any string. Other entries must equal the value.
 */
export function matchesEntry(entry: ParameterValue, value: unknown): boolean {
  if (typeof entry === 'string' && typeof value === 'string') return matchesGlob(entry, value);
  return jsonEqual(entry, value);
}

function matchesGlob(pattern: string, value: string): boolean {
  const leading = pattern.startsWith('*');
  const trailing = pattern.length > 1 && pattern.endsWith('*');
  if (leading && trailing) return value.includes(pattern.slice(1, -1));
  if (leading) return value.endsWith(pattern.slice(1));
  if (trailing) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
