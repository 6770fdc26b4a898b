import { randomInt } from 'node:crypto';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { BadRequestError } from '../../errors.js';
import { isPlainObject } from '../../framework/fields.js';

/** One `rule "charset"` block: the characters it allows and how many of them a password needs. */
export interface CharsetRule {
  /** Distinct characters (Unicode code points) of the rule. */
  charset: string[];
  minChars: number;
}

/** A parsed password policy: the length of every password and the rules it must satisfy. */
export interface PasswordPolicy {
  length: number;
  rules: CharsetRule[];
}

/** Shortest password a policy may ask for, as Vault requires. */
export const MIN_PASSWORD_LENGTH = 4;

/** Maximum password length a policy may request; a guard against policies that cost memory or time. */
export const MAX_PASSWORD_LENGTH = 1024;

/** Most distinct characters the union of a policy's charsets may have, as in Vault. */
export const MAX_CHARSET_SIZE = 256;

/** Largest policy text accepted, in characters. */
export const MAX_POLICY_TEXT_LENGTH = 64 * 1024;

const HCL_FILE_NAME = 'password-policy.hcl';

/**
 * The policy used when none is named: 20 characters with at least one lowercase letter, one
 * uppercase letter, one digit and one dash, the same rules as Vault's default.
 */
export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  length: 20,
  rules: [
    { charset: [...'abcdefghijklmnopqrstuvwxyz'], minChars: 1 },
    { charset: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'], minChars: 1 },
    { charset: [...'0123456789'], minChars: 1 },
    { charset: ['-'], minChars: 1 },
  ],
};

/**
 * Parses a password policy written in HCL (`length = 20` and `rule "charset" { charset = "...",
 * min-chars = N }` blocks), in JSON of the same shape, or either of them base64-encoded. Throws a
 * `BadRequestError` that names what to fix.
 */
export async function parsePasswordPolicy(text: string): Promise<PasswordPolicy> {
  if (text.length > MAX_POLICY_TEXT_LENGTH) {
    throw policyError(`the policy is ${text.length} characters; the maximum is ${MAX_POLICY_TEXT_LENGTH}`);
  }
  const source = decodeBase64Policy(text) ?? text;
  if (source.trim() === '') throw policyError('the policy is empty; set "length" and at least one rule "charset" block');

  const document = source.trimStart().startsWith('{') ? decodeJson(source) : await decodeHcl(source);
  if (!isPlainObject(document)) throw policyError('the policy must be an object with "length" and "rule"');
  for (const key of Object.keys(document)) {
    if (key !== 'length' && key !== 'rule') throw policyError(`unknown key ${JSON.stringify(key)}; only "length" and "rule" are allowed`);
  }

  const length = readLength(document.length);
  const rules = readRules(document.rule);
  checkSatisfiable(length, rules);
  return { length, rules };
}

/**
 * Generates a password that satisfies the policy. First each rule's `min-chars` characters are
 * drawn from that rule's charset, then the rest from the union of all charsets, and the result is
 * shuffled. Every draw uses `crypto.randomInt`, which has no modulo bias.
 *
 * NOTE: Vault draws whole candidates from the union and discards those that break a rule. This
 * construction always finishes in one pass, but its distribution over valid passwords is not
 * exactly uniform when rules require characters.
 */
export function generatePassword(policy: PasswordPolicy): string {
  const union = unionCharset(policy.rules);
  const characters: string[] = [];
  for (const rule of policy.rules) {
    for (let i = 0; i < rule.minChars; i++) characters.push(rule.charset[randomInt(rule.charset.length)]);
  }
  while (characters.length < policy.length) characters.push(union[randomInt(union.length)]);

  // Fisher-Yates shuffle, so the required characters do not sit at the start.
  for (let i = characters.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [characters[i], characters[j]] = [characters[j], characters[i]];
  }
  return characters.join('');
}

/** Returns the de-duplicated union of the rules' charsets, in first-seen order. */
export function unionCharset(rules: CharsetRule[]): string[] {
  return [...new Set(rules.flatMap((rule) => rule.charset))];
}

/** Decodes the text when it is entirely base64, as Vault accepts; otherwise returns null. */
function decodeBase64Policy(text: string): string | null {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return null;
  const decoded = Buffer.from(compact, 'base64').toString('utf8');
  // Decoded text that is not a readable policy means the input was plain text that looked like base64.
  return /^[\s\S]*(length|rule)[\s\S]*$/.test(decoded) && !decoded.includes('\uFFFD') ? decoded : null;
}

function decodeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw policyError(`invalid JSON: ${err instanceof Error ? err.message.slice(0, 200) : 'unreadable'}`);
  }
}

async function decodeHcl(text: string): Promise<unknown> {
  try {
    return await parseHcl(HCL_FILE_NAME, text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const diagnostic = /password-policy\.hcl:(\d+),\d+[^:]*: ([^\]]*)/.exec(message);
    if (diagnostic === null) throw policyError(`invalid HCL: ${message.slice(0, 300)}`);
    throw policyError(`invalid HCL on line ${diagnostic[1]}: ${diagnostic[2].slice(0, 300)}`);
  }
}

function readLength(value: unknown): number {
  if (value === undefined) throw policyError('missing "length"');
  if (typeof value !== 'number' || !Number.isInteger(value)) throw policyError('"length" must be a whole number');
  if (value < MIN_PASSWORD_LENGTH || value > MAX_PASSWORD_LENGTH) {
    throw policyError(`"length" is ${value}; it must be from ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH}`);
  }
  return value;
}

/** Reads `rule` as the HCL parser returns it (`{charset: [...]}`) or as JSON writes it (a list of those). */
function readRules(value: unknown): CharsetRule[] {
  if (value === undefined) throw policyError('at least one rule "charset" block is required');
  const groups = Array.isArray(value) ? value : [value];
  const rules: CharsetRule[] = [];
  for (const group of groups) {
    if (!isPlainObject(group)) throw policyError('"rule" must be blocks such as rule "charset" { ... }');
    for (const [type, bodies] of Object.entries(group)) {
      if (type !== 'charset') throw policyError(`unknown rule type ${JSON.stringify(type)}; the only rule type is "charset"`);
      for (const body of Array.isArray(bodies) ? bodies : [bodies]) rules.push(readCharsetRule(body));
    }
  }
  if (rules.length === 0) throw policyError('at least one rule "charset" block is required');
  return rules;
}

function readCharsetRule(body: unknown): CharsetRule {
  if (!isPlainObject(body)) throw policyError('a rule "charset" block must contain "charset"');
  for (const key of Object.keys(body)) {
    if (key !== 'charset' && key !== 'min-chars') {
      throw policyError(`unknown key ${JSON.stringify(key)} in rule "charset"; use "charset" and "min-chars"`);
    }
  }
  if (typeof body.charset !== 'string' || body.charset === '') throw policyError('a rule "charset" needs a non-empty "charset" string');
  const charset = [...new Set([...body.charset])];
  const unprintable = charset.find((char) => /[\p{C}\s]/u.test(char));
  if (unprintable !== undefined) {
    throw policyError(`"charset" contains the unprintable character U+${unprintable.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  }
  const minChars = body['min-chars'] ?? 0;
  if (typeof minChars !== 'number' || !Number.isInteger(minChars) || minChars < 0) {
    throw policyError('"min-chars" must be a whole number of 0 or more');
  }
  return { charset, minChars };
}

function checkSatisfiable(length: number, rules: CharsetRule[]): void {
  const union = unionCharset(rules);
  if (union.length > MAX_CHARSET_SIZE) {
    throw policyError(`the charsets together have ${union.length} distinct characters; the maximum is ${MAX_CHARSET_SIZE}`);
  }
  const required = rules.reduce((sum, rule) => sum + rule.minChars, 0);
  if (required > length) {
    throw policyError(`the rules require ${required} characters but "length" is ${length}; lower "min-chars" or raise "length"`);
  }
}

function policyError(message: string): BadRequestError {
  return new BadRequestError(`invalid password policy: ${message}`);
}
