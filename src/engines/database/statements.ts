import { BadRequestError } from '../../errors.js';

/**
 * Reads a statements field as Vault accepts it: a list of strings or one string. Each element is
 * kept as written, because a role read returns the statements unchanged; `expandStatements` turns
 * them into the commands to run.
 */
export function readStatementList(name: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.trim() === '' ? [] : [value];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.filter((item) => item.trim() !== '');
  throw new BadRequestError(`invalid value for "${name}": expected a list of statements or one string`);
}

/**
 * Expands each element into single statements. An element may be base64-encoded, may be a JSON
 * array of strings, or may hold several statements separated by `;`. Semicolons inside quotes,
 * quoted identifiers, comments and PostgreSQL dollar-quoted bodies (`DO $$ ... $$`) do not split.
 */
export function expandStatements(elements: string[]): string[] {
  const result: string[] = [];
  for (const element of elements) {
    const decoded = decodeBase64Statement(element) ?? element;
    const list = parseJsonStringArray(decoded);
    if (list !== null) {
      for (const item of list) result.push(...splitSql(item));
    } else {
      result.push(...splitSql(decoded));
    }
  }
  return result;
}

/**
 * Parses an element as a JSON array of strings, the form Redis rules take; returns null when the
 * text is not one.
 */
export function parseJsonStringArray(text: string): string[] | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[')) return null;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed;
  } catch {
    // Not JSON: the caller treats the text as plain statements.
  }
  return null;
}

/** Decodes an element that is entirely base64 and decodes to printable text; otherwise null. */
export function decodeBase64Statement(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.length < 8 || trimmed.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) return null;
  const decoded = Buffer.from(trimmed, 'base64').toString('utf8');
  return /^[\P{C}\n\r\t]+$/u.test(decoded) ? decoded : null;
}

/** Splits SQL text on `;` outside quotes, comments and dollar-quoted bodies; drops empty pieces. */
export function splitSql(text: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const char = text[i];
    if (char === "'" || char === '"' || char === '`') {
      i = skipQuoted(text, i, char);
    } else if (char === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end + 1;
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (char === '$') {
      i = skipDollarQuoted(text, i);
    } else if (char === ';') {
      pieces.push(text.slice(start, i));
      start = ++i;
    } else {
      i++;
    }
  }
  pieces.push(text.slice(start));
  return pieces.map((piece) => piece.trim()).filter((piece) => piece !== '');
}

/** Returns the index after the closing quote; a doubled quote or a backslash escape stays inside. */
function skipQuoted(text: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < text.length) {
    if (text[i] === '\\' && quote !== '"') {
      i += 2;
    } else if (text[i] === quote) {
      if (text[i + 1] !== quote) return i + 1;
      i += 2;
    } else {
      i++;
    }
  }
  return text.length;
}

/** Skips a `$tag$ ... $tag$` body; a `$` that opens no tag (such as `$1`) is skipped alone. */
function skipDollarQuoted(text: string, open: number): number {
  const tag = /^\$[A-Za-z_]*\$/.exec(text.slice(open));
  if (tag === null) return open + 1;
  const end = text.indexOf(tag[0], open + tag[0].length);
  return end === -1 ? text.length : end + tag[0].length;
}

/** Values substituted into statements. Absent keys leave their placeholder as written. */
export interface StatementValues {
  name?: string;
  username?: string;
  password?: string;
  expiration?: string;
}

/**
 * Replaces `{{name}}`, `{{username}}`, `{{password}}` and `{{expiration}}` (spaces inside the
 * braces allowed). The values are inserted as they are: statements quote them, as in
 * `PASSWORD '{{password}}'`, so callers must pass values that cannot break out of those quotes.
 */
export function renderStatement(statement: string, values: StatementValues): string {
  return statement.replace(/\{\{\s*(name|username|password|expiration)\s*\}\}/g, (placeholder, key: keyof StatementValues) => {
    return values[key] ?? placeholder;
  });
}

/** Formats an expiration as `YYYY-MM-DD HH:MM:SS+0000` in UTC, which PostgreSQL's VALID UNTIL reads. */
export function formatExpiration(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}+0000`;
}
