import { CofferError } from '../errors.js';
import { parseDuration } from '../framework/duration.js';

/** Error for a config file that cannot be read, parsed or accepted. The message starts with the file and line. */
export class ConfigError extends CofferError {
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    readonly key?: string,
  ) {
    super(line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`);
  }
}

/** Reference to a labelled block such as `listener "tcp" {...}`, the `index`-th with its type and label. */
export interface BlockRef {
  type: string;
  label: string;
  index: number;
}

/**
 * The text of a configuration file, used to find the line of a key. The parsed JSON carries no
 * positions, so lines are found by searching the text: first for the block, then for the key after
 * the block's start. The search is textual and can pick an earlier occurrence of the same word, for
 * example inside a comment.
 */
export class ConfigSource {
  constructor(
    readonly name: string,
    readonly text: string,
    readonly format: 'hcl' | 'json',
  ) {}

  /** Returns the 1-based line of the character at `offset` in the text. */
  lineAt(offset: number): number {
    let line = 1;
    for (let i = 0; i < offset && i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) line++;
    return line;
  }

  /** Returns the line of `key` inside `block` (or at the top level), or of the block if the key is absent. */
  lineOf(key: string | undefined, block?: BlockRef): number | undefined {
    const blockStart = block === undefined ? 0 : this.findBlock(block);
    if (key === undefined) return blockStart === undefined ? undefined : this.lineAt(blockStart);

    const keyOffset = this.findKey(key, blockStart ?? 0, block === undefined);
    if (keyOffset !== undefined) return this.lineAt(keyOffset);
    return blockStart === undefined || block === undefined ? undefined : this.lineAt(blockStart);
  }

  /** Returns a ConfigError at the line of `key` in `block`. */
  error(message: string, key?: string, block?: BlockRef): ConfigError {
    return new ConfigError(message, this.name, this.lineOf(key, block), key);
  }

  private findBlock(block: BlockRef): number | undefined {
    const type = escapeRegExp(block.type);
    const label = escapeRegExp(block.label);
    if (this.format === 'hcl') {
      const header = new RegExp(`^[ \\t]*${type}[ \\t]+"${label}"[ \\t]*\\{`, 'gm');
      return nthMatch(header, this.text, 0, block.index) ?? nthMatch(header, this.text, 0, 0);
    }

    // In JSON the label is a property inside the type's object, or inside each element of its array.
    const typeOffset = nthMatch(new RegExp(`"${type}"\\s*:`, 'g'), this.text, 0, 0);
    if (typeOffset === undefined) return undefined;
    const labelPattern = new RegExp(`"${label}"\\s*:`, 'g');
    return nthMatch(labelPattern, this.text, typeOffset, block.index) ?? nthMatch(labelPattern, this.text, typeOffset, 0);
  }

  private findKey(key: string, from: number, topLevel: boolean): number | undefined {
    const name = escapeRegExp(key);
    if (this.format === 'json') return nthMatch(new RegExp(`"${name}"\\s*:`, 'g'), this.text, from, 0);

    // An HCL key is an attribute (`key =`) or a block (`key {` or `key "label" {`). At the top
    // level, an unindented match is preferred over one nested in a block.
    const anyDepth = new RegExp(`(?:^|[\\s{,;])${name}\\s*(?:=|\\{|")`, 'gm');
    if (topLevel) {
      const unindented = nthMatch(new RegExp(`^${name}\\s*(?:=|\\{|")`, 'gm'), this.text, from, 0);
      if (unindented !== undefined) return unindented;
    }
    const offset = nthMatch(anyDepth, this.text, from, 0);
    // The pattern may start on the character before the key, which can be the previous newline.
    return offset !== undefined && this.text[offset] === '\n' ? offset + 1 : offset;
  }
}

/** A block body or the top level of a configuration, with typed readers that report file and line. */
export class ConfigSection {
  constructor(
    readonly source: ConfigSource,
    readonly body: Record<string, unknown>,
    readonly block?: BlockRef,
  ) {}

  /** Location phrase for messages, such as `in listener "tcp"` or `at the top level`. */
  get location(): string {
    return this.block === undefined ? 'at the top level' : `in ${this.block.type} "${this.block.label}"`;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.body, key) && this.body[key] !== undefined;
  }

  /** Throws on the first key that is not in `allowed`. */
  checkKeys(allowed: readonly string[]): void {
    for (const key of Object.keys(this.body)) {
      if (!allowed.includes(key)) {
        const unknown = `unknown key ${JSON.stringify(key)} ${this.location}`;
        if (allowed.length === 0) throw this.error(key, `${unknown}, which takes no keys`);
        throw this.error(key, `${unknown}. Expected one of: ${allowed.join(', ')}`);
      }
    }
  }

  error(key: string | undefined, message: string): ConfigError {
    return this.source.error(message, key, this.block);
  }

  /** Reads a string. HCL references and `${...}` interpolation are not evaluated, so they are rejected. */
  string(key: string): string | undefined {
    if (!this.has(key)) return undefined;
    const value = this.body[key];
    if (typeof value !== 'string') throw this.typeError(key, 'a string');
    if (value.includes('${')) {
      throw this.error(key, `invalid ${key} ${this.location}: references and \${...} interpolation are not supported`);
    }
    return value;
  }

  /** Reads a boolean: true or false, the strings "true", "false", "1", "0", or the numbers 1 and 0. */
  boolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const value = this.body[key];
    if (value === true || value === 'true' || value === '1' || value === 1) return true;
    if (value === false || value === 'false' || value === '0' || value === 0) return false;
    throw this.typeError(key, 'true or false');
  }

  /** Reads a whole number, given as a number or a string of digits. */
  integer(key: string): number | undefined {
    if (!this.has(key)) return undefined;
    const value = this.body[key];
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    if (typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim())) return Number(value.trim());
    throw this.typeError(key, 'a whole number');
  }

  /** Reads a duration in seconds, as a number of seconds or a string such as "1h30m". */
  duration(key: string): number | undefined {
    if (!this.has(key)) return undefined;
    try {
      return parseDuration(this.body[key], key);
    } catch (err) {
      throw this.error(key, (err as Error).message);
    }
  }

  private typeError(key: string, expected: string): ConfigError {
    return this.error(key, `invalid ${key} ${this.location}: expected ${expected}, got ${describeValue(this.body[key])}`);
  }
}

/** Describes a value for a message without echoing long or nested content. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a block or object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return String(value);
}

function nthMatch(pattern: RegExp, text: string, from: number, n: number): number | undefined {
  pattern.lastIndex = from;
  let match: RegExpExecArray | null;
  let seen = 0;
  while ((match = pattern.exec(text)) !== null) {
    if (seen === n) return match.index;
    seen++;
    if (match[0] === '') pattern.lastIndex++;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
