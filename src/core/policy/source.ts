/**
 * Finds line numbers in policy text, so that every parse error can name the line to fix. The
 * parsers hand back plain values without positions, so the lines of path blocks and keys are
 * found again by searching the text.
 */

export type PolicyFormat = 'hcl' | 'json';

/** Deepest bracket nesting a policy may use; real policies need 4 or 5 levels. */
export const MAX_NESTING_DEPTH = 64;

/** Returns the 1-based line of a character offset. */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) line++;
  }
  return line;
}

/**
 * Returns the offset where bracket nesting first exceeds `MAX_NESTING_DEPTH`, or -1. Brackets
 * inside quoted strings do not count. The HCL parser overflows the call stack on deeply nested
 * input, so this check runs before it.
 */
export function findExcessiveNesting(text: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"' || ch === '\n') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[' || ch === '(') {
      depth++;
      if (depth > MAX_NESTING_DEPTH) return i;
    } else if (ch === '}' || ch === ']' || ch === ')') {
      depth = Math.max(0, depth - 1);
    }
  }
  return -1;
}

/** Locates path blocks and keys in the text of one policy. */
export class PolicySource {
  constructor(
    readonly text: string,
    readonly format: PolicyFormat,
  ) {}

  /** Returns the line of a top-level key such as `path`, or undefined. */
  topLevelKeyLine(key: string): number | undefined {
    const pattern =
      this.format === 'json'
        ? new RegExp(`${escapeRegExp(JSON.stringify(key))}\\s*:`)
        : new RegExp(`^\\s*${escapeRegExp(key)}\\b`, 'm');
    const match = pattern.exec(this.text);
    return match ? lineAt(this.text, match.index + match[0].length - 1) : undefined;
  }

  /** Returns the line of the `occurrence`-th (0-based) block for a path pattern, or undefined. */
  pathLine(path: string, occurrence: number): number | undefined {
    const offset = this.pathOffset(path, occurrence);
    return offset < 0 ? undefined : lineAt(this.text, offset);
  }

  /**
   * Returns the line of a key inside the `occurrence`-th block for a path, or the block's own line
   * when the key cannot be found.
   */
  keyLine(path: string, occurrence: number, key: string): number | undefined {
    const start = this.pathOffset(path, occurrence);
    if (start < 0) return undefined;
    const pattern =
      this.format === 'json'
        ? new RegExp(`${escapeRegExp(JSON.stringify(key))}\\s*:`, 'g')
        : new RegExp(`\\b${escapeRegExp(key)}\\s*[={]`, 'g');
    pattern.lastIndex = start;
    const match = pattern.exec(this.text);
    return lineAt(this.text, match ? match.index : start);
  }

  private pathOffset(path: string, occurrence: number): number {
    const quoted = escapeRegExp(JSON.stringify(path));
    const pattern =
      this.format === 'json' ? new RegExp(`${quoted}\\s*:`, 'g') : new RegExp(`\\bpath\\s*${quoted}`, 'g');
    let match: RegExpExecArray | null = null;
    for (let seen = 0; seen <= occurrence; seen++) {
      match = pattern.exec(this.text);
      if (match === null) return -1;
    }
    return match === null ? -1 : match.index;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Returns the offset of the first syntax error in JSON text. `JSON.parse` in Node 20 leaves the
 * position out of some messages, so this small scanner finds it. It is called only after
 * `JSON.parse` has failed, and returns the text's length when the error is a premature end.
 */
export function findJsonErrorOffset(text: string): number {
  const scanner = new JsonScanner(text);
  try {
    scanner.skipSpace();
    scanner.value(0);
    scanner.skipSpace();
    if (scanner.pos < text.length) return scanner.pos;
    return text.length;
  } catch (err) {
    if (err instanceof JsonSyntaxPosition) return err.offset;
    throw err;
  }
}

class JsonSyntaxPosition {
  constructor(readonly offset: number) {}
}

class JsonScanner {
  pos = 0;

  constructor(private readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos])) this.pos++;
  }

  value(depth: number): void {
    if (depth > MAX_NESTING_DEPTH) this.fail();
    const ch = this.text[this.pos];
    if (ch === '{') return this.object(depth);
    if (ch === '[') return this.array(depth);
    if (ch === '"') return this.string();
    if (ch === '-' || (ch >= '0' && ch <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    this.fail();
  }

  private object(depth: number): void {
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail();
      this.string();
      this.skipSpace();
      this.expect(':');
      this.skipSpace();
      this.value(depth + 1);
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return;
      }
      this.expect(',');
    }
  }

  private array(depth: number): void {
    this.pos++;
    this.skipSpace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipSpace();
      this.value(depth + 1);
      this.skipSpace();
      if (this.text[this.pos] === ']') {
        this.pos++;
        return;
      }
      this.expect(',');
    }
  }

  private string(): void {
    this.pos++;
    while (this.pos < this.text.length) {
      const code = this.text.charCodeAt(this.pos);
      if (code === 0x22) {
        this.pos++;
        return;
      }
      if (code < 0x20) this.fail();
      if (code === 0x5c) {
        const escape = this.text[this.pos + 1];
        if (escape === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) this.fail();
          this.pos += 6;
          continue;
        }
        if (escape === undefined || !'"\\/bfnrt'.includes(escape)) this.fail();
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.fail();
  }

  private number(): void {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (match === null) this.fail();
    this.pos += match[0].length;
  }

  private expect(ch: string): void {
    if (this.text[this.pos] !== ch) this.fail();
    this.pos++;
  }

  private fail(): never {
    throw new JsonSyntaxPosition(this.pos);
  }
}
