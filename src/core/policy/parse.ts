import { parse as parseHcl } from '@cdktf/hcl2json';
import { BadRequestError } from '../../errors.js';
import { parseDuration } from '../../framework/duration.js';
import { isPlainObject } from '../../framework/fields.js';
import {
  findExcessiveNesting,
  findJsonErrorOffset,
  lineAt,
  MAX_NESTING_DEPTH,
  PolicySource,
  type PolicyFormat,
} from './source.js';
import { hasTemplate, validateTemplates } from './template.js';
import { CAPABILITIES, type Capability, type ParameterValue, type PathRule, type Policy } from './types.js';

/** Largest policy text accepted, in characters. Parsing is synchronous in the HCL parser. */
export const MAX_POLICY_LENGTH = 1024 * 1024;

/** The file name given to the HCL parser; its error messages start with it. */
const HCL_FILE_NAME = 'policy.hcl';

const PATH_KEYS = new Set([
  'capabilities',
  'policy',
  'required_parameters',
  'allowed_parameters',
  'denied_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
]);

/** Capabilities that Vault's legacy `policy = "..."` values stand for. */
const LEGACY_POLICY_CAPABILITIES: Record<string, Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'patch', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo'],
};

const KNOWN_CAPABILITIES = new Set<string>(CAPABILITIES);

/**
 * Parses an ACL policy written in HCL or, when the text starts with `{`, in Vault's JSON shape
 * `{"path": {"PATTERN": {...}}}`. Throws a `BadRequestError` that names the policy and the line
 * for any syntax or semantic error.
 */
export async function parsePolicy(name: string, text: string): Promise<Policy> {
  const policyName = name.toLowerCase();
  if (typeof text !== 'string') throw policyError(policyName, undefined, 'policy text must be a string');
  if (text.length > MAX_POLICY_LENGTH) {
    throw policyError(policyName, undefined, `policy text is ${text.length} characters; the maximum is ${MAX_POLICY_LENGTH}`);
  }
  const nestingOffset = findExcessiveNesting(text);
  if (nestingOffset >= 0) {
    throw policyError(policyName, lineAt(text, nestingOffset), `brackets are nested deeper than ${MAX_NESTING_DEPTH} levels`);
  }

  const format: PolicyFormat = text.trimStart().startsWith('{') ? 'json' : 'hcl';
  const document = format === 'json' ? decodeJson(policyName, text) : await decodeHcl(policyName, text);
  const source = new PolicySource(text, format);
  const paths = readDocument(policyName, document, source);
  return { name: policyName, raw: text, paths, templated: paths.some((rule) => hasTemplate(rule.path)) };
}

/** Builds the error every parse failure throws. */
export function policyError(name: string, line: number | undefined, message: string): BadRequestError {
  const where = line === undefined ? '' : `, line ${line}`;
  return new BadRequestError(`failed to parse policy ${JSON.stringify(name.slice(0, 128))}${where}: ${message}`);
}

function decodeJson(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const offset = findJsonErrorOffset(text);
    const detail = err instanceof Error ? err.message.replace(/, ".*" is not valid JSON$/s, '').replace(/ in JSON at position \d+.*$/s, '') : 'invalid JSON';
    throw policyError(name, lineAt(text, offset), `invalid JSON: ${detail.slice(0, 200)}`);
  }
}

// NOTE: this is an HCL2 parser and Vault uses HCL1. HCL1-only forms, such as a nested block with
// quoted keys (`allowed_parameters { "a" = [] }`), are rejected, but the `= { ... }` form works.
async function decodeHcl(name: string, text: string): Promise<unknown> {
  try {
    return await parseHcl(HCL_FILE_NAME, text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // Messages look like `parse config: [policy.hcl:3,1-2: Summary; Detail.]`.
    const diagnostic = /policy\.hcl:(\d+),\d+[^:]*: ([^\]]*)/.exec(message);
    if (diagnostic === null) {
      throw policyError(name, undefined, `invalid HCL: ${message.slice(0, 300)}`);
    }
    throw policyError(name, Number(diagnostic[1]), `invalid HCL: ${diagnostic[2].slice(0, 300)}`);
  }
}

function readDocument(name: string, document: unknown, source: PolicySource): PathRule[] {
  if (!isPlainObject(document)) {
    throw policyError(name, 1, 'the policy must be an object with a "path" key');
  }
  for (const key of Object.keys(document)) {
    if (key !== 'path') {
      throw policyError(name, source.topLevelKeyLine(key), `unknown top-level key ${JSON.stringify(key)}; only "path" blocks are allowed`);
    }
  }
  if (document.path === undefined) return [];

  const rules: PathRule[] = [];
  const occurrences = new Map<string, number>();
  for (const [path, body] of pathEntries(name, document.path, source)) {
    const occurrence = occurrences.get(path) ?? 0;
    occurrences.set(path, occurrence + 1);
    rules.push(readPathBlock(name, path, body, new BlockLocation(source, path, occurrence)));
  }
  // The HCL parser returns path labels sorted, so restore the order in which they were written.
  return rules.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}

/** Flattens the `path` value into one entry per block, in the order they were written. */
function pathEntries(name: string, value: unknown, source: PolicySource): Array<[string, unknown]> {
  const groups = Array.isArray(value) ? value : [value];
  const entries: Array<[string, unknown]> = [];
  for (const group of groups) {
    if (!isPlainObject(group)) {
      throw policyError(name, source.topLevelKeyLine('path'), '"path" must map path patterns to blocks, as in path "secret/*" { ... }');
    }
    for (const [path, bodies] of Object.entries(group)) {
      for (const body of Array.isArray(bodies) ? bodies : [bodies]) entries.push([path, body]);
    }
  }
  return entries;
}

/** The place of one path block, for error messages. */
class BlockLocation {
  constructor(
    private readonly source: PolicySource,
    readonly path: string,
    private readonly occurrence: number,
  ) {}

  get line(): number | undefined {
    return this.source.pathLine(this.path, this.occurrence);
  }

  keyLine(key: string): number | undefined {
    return this.source.keyLine(this.path, this.occurrence, key);
  }
}

function readPathBlock(name: string, path: string, body: unknown, at: BlockLocation): PathRule {
  const shownPath = JSON.stringify(path.slice(0, 200));
  if (!isPlainObject(body)) {
    throw policyError(name, at.line, `path ${shownPath} must be followed by a block in braces`);
  }
  const templateProblem = validateTemplates(path);
  if (templateProblem !== null) throw policyError(name, at.line, `path ${shownPath}: ${templateProblem}`);

  for (const key of Object.keys(body)) {
    if (!PATH_KEYS.has(key)) {
      throw policyError(name, at.keyLine(key), `unknown key ${JSON.stringify(key)} in path ${shownPath}; allowed keys: ${[...PATH_KEYS].join(', ')}`);
    }
  }
  const fail = (key: string, message: string) => policyError(name, at.keyLine(key), `path ${shownPath}: ${message}`);

  const capabilities = new Set<Capability>(readCapabilities(body.capabilities, fail));
  if (body.policy !== undefined) {
    const legacy = typeof body.policy === 'string' ? LEGACY_POLICY_CAPABILITIES[body.policy] : undefined;
    if (legacy === undefined) throw fail('policy', 'invalid "policy" value; use "read", "write", "deny" or "sudo"');
    for (const capability of legacy) capabilities.add(capability);
  }

  const rule: PathRule = {
    path: path.startsWith('/') ? path.slice(1) : path,
    capabilities: [...capabilities],
    requiredParameters: readRequiredParameters(body.required_parameters, fail),
    allowedParameters: readParameterMap('allowed_parameters', body.allowed_parameters, fail),
    deniedParameters: readParameterMap('denied_parameters', body.denied_parameters, fail),
    minWrappingTtl: readWrappingTtl('min_wrapping_ttl', body.min_wrapping_ttl, fail),
    maxWrappingTtl: readWrappingTtl('max_wrapping_ttl', body.max_wrapping_ttl, fail),
    line: at.line,
  };
  if (rule.minWrappingTtl > 0 && rule.maxWrappingTtl > 0 && rule.maxWrappingTtl < rule.minWrappingTtl) {
    throw fail('max_wrapping_ttl', 'max_wrapping_ttl must not be less than min_wrapping_ttl');
  }
  return rule;
}

type FailAt = (key: string, message: string) => BadRequestError;

function readCapabilities(value: unknown, fail: FailAt): Capability[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw fail('capabilities', '"capabilities" must be a list such as ["read", "list"]');
  const capabilities: Capability[] = [];
  for (const item of value) {
    if (typeof item !== 'string' || !KNOWN_CAPABILITIES.has(item)) {
      const quotedItem = typeof item === 'string' ? JSON.stringify(item.slice(0, 40)) : typeof item;
      throw fail('capabilities', `unknown capability ${quotedItem}; valid capabilities: ${CAPABILITIES.join(', ')}`);
    }
    capabilities.push(item as Capability);
  }
  return capabilities;
}

function readRequiredParameters(value: unknown, fail: FailAt): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw fail('required_parameters', '"required_parameters" must be a list of parameter names');
  }
  return [...new Set((value as string[]).map((item) => item.toLowerCase()))];
}

/**
 * Reads `allowed_parameters` or `denied_parameters`: a map from parameter name to a list of
 * values. HCL block syntax yields a list of such maps, which are merged.
 */
function readParameterMap(key: string, value: unknown, fail: FailAt): Map<string, ParameterValue[]> {
  const result = new Map<string, ParameterValue[]>();
  if (value === undefined) return result;

  const maps = Array.isArray(value) ? value : [value];
  for (const map of maps) {
    if (!isPlainObject(map)) throw fail(key, `"${key}" must map parameter names to lists of values`);
    for (const [parameter, values] of Object.entries(map)) {
      if (!Array.isArray(values)) {
        throw fail(key, `the value of ${JSON.stringify(parameter.slice(0, 80))} in "${key}" must be a list; use [] to match any value`);
      }
      if (parameter === '*' && values.length > 0) {
        throw fail(key, `the "*" parameter in "${key}" accepts only an empty list []`);
      }
      const name = parameter.toLowerCase();
      const existing = result.get(name);
      const anyValue = values.length === 0 || (existing !== undefined && existing.length === 0);
      result.set(name, anyValue ? [] : [...(existing ?? []), ...values]);
    }
  }
  return result;
}

function readWrappingTtl(key: string, value: unknown, fail: FailAt): number {
  if (value === undefined) return 0;
  try {
    return parseDuration(value, key);
  } catch (err) {
    if (err instanceof BadRequestError) throw fail(key, err.message);
    throw err;
  }
}
