import { parseDuration } from '../framework/duration.js';
import { UsageError } from './errors.js';

/**
 * How a flag's value is read. `list` and `map` flags may repeat: a list also splits each value on
 * commas, and a map takes `key=value` values.
 */
export type FlagKind = 'string' | 'bool' | 'int' | 'duration' | 'list' | 'map';

/** One flag a command accepts, written `-name=value`, `-name value` or, for booleans, `-name`. */
export interface FlagSpec {
  name: string;
  kind: FlagKind;
  /** Help text: what the flag sets and, for numbers and durations, in what unit. */
  help: string;
  /** Value shown in help when the flag is absent. */
  defaultText?: string;
}

type FlagValue = string | boolean | number | string[] | Record<string, string>;

/** Flags parsed from a command line, read through typed getters. */
export class ParsedFlags {
  private readonly values = new Map<string, FlagValue>();

  set(name: string, value: FlagValue): void {
    this.values.set(name, value);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined {
    const value = this.values.get(name);
    return typeof value === 'string' ? value : undefined;
  }

  bool(name: string): boolean {
    return this.values.get(name) === true;
  }

  int(name: string): number | undefined {
    const value = this.values.get(name);
    return typeof value === 'number' ? value : undefined;
  }

  list(name: string): string[] {
    const value = this.values.get(name);
    return Array.isArray(value) ? value : [];
  }

  map(name: string): Record<string, string> {
    const value = this.values.get(name);
    return value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : {};
  }
}

/** The outcome of parsing: flags by name and the remaining positional arguments in order. */
export interface ParsedArgs {
  flags: ParsedFlags;
  args: string[];
}

const TRUE_WORDS = new Set(['1', 't', 'true', 'yes']);
const FALSE_WORDS = new Set(['0', 'f', 'false', 'no']);

/**
 * Parses Vault-style flags from `argv`. Flags may use one or two dashes and may come after
 * positional arguments too. A lone `-` is a positional argument (it means stdin), and `--` ends
 * the flags. Throws UsageError for an unknown flag or an invalid value.
 */
export function parseArgs(argv: string[], specs: FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const flags = new ParsedFlags();
  const args: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      args.push(token);
      continue;
    }

    const body = token.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (spec === undefined) {
      throw new UsageError(`flag provided but not defined: -${name}`);
    }

    let raw: string;
    if (eq !== -1) {
      raw = body.slice(eq + 1);
    } else if (spec.kind === 'bool') {
      raw = 'true';
    } else if (i + 1 < argv.length) {
      i += 1;
      raw = argv[i];
    } else {
      throw new UsageError(`flag needs an argument: -${name}`);
    }
    applyFlag(flags, spec, raw);
  }
  return { flags, args };
}

function applyFlag(flags: ParsedFlags, spec: FlagSpec, raw: string): void {
  switch (spec.kind) {
    case 'string':
      flags.set(spec.name, raw);
      return;
    case 'bool':
      flags.set(spec.name, parseBool(spec.name, raw));
      return;
    case 'int':
      flags.set(spec.name, parseInteger(spec.name, raw));
      return;
    case 'duration':
      flags.set(spec.name, validateDuration(spec.name, raw));
      return;
    case 'list': {
      const items = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
      flags.set(spec.name, [...flags.list(spec.name), ...items]);
      return;
    }
    case 'map': {
      const [key, value] = splitKeyValue(raw, `-${spec.name}`);
      flags.set(spec.name, { ...flags.map(spec.name), [key]: value });
      return;
    }
  }
}

function parseBool(name: string, raw: string): boolean {
  const word = raw.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new UsageError(`invalid boolean value ${JSON.stringify(raw)} for -${name}: use true or false`);
}

function parseInteger(name: string, raw: string): number {
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`invalid value ${JSON.stringify(raw)} for -${name}: expected a whole number`);
  }
  return Number(raw);
}

/** Checks a duration client-side so a typo is a usage error; the server receives the text as given. */
function validateDuration(name: string, raw: string): string {
  try {
    parseDuration(raw, `-${name}`);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  return raw.trim();
}

/** Splits `key=value` at the first `=`; throws UsageError naming `what` when there is no key. */
export function splitKeyValue(text: string, what: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    throw new UsageError(`invalid ${what} value ${JSON.stringify(text)}: expected key=value`);
  }
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Reads the text of a file for a `key=@file` argument. */
export type FileReader = (path: string) => Promise<string>;

/**
 * Parses write arguments of the form `key=value` into a data object. `key=@path` takes the value
 * from a file and `key=-` from stdin (read once, so only one key may use it). A later duplicate
 * key replaces the earlier one.
 */
export async function parseKeyValueArgs(
  args: string[],
  readFile: FileReader,
  readStdin: () => Promise<string>,
): Promise<Record<string, string>> {
  const data: Record<string, string> = {};
  let stdinUsed = false;

  for (const arg of args) {
    const [key, value] = splitKeyValue(arg, 'data');
    if (value === '-') {
      if (stdinUsed) throw new UsageError(`only one key can read its value from stdin ("${key}=-")`);
      stdinUsed = true;
      data[key] = await readStdin();
    } else if (value.startsWith('@')) {
      data[key] = await readFile(value.slice(1));
    } else {
      data[key] = value;
    }
  }
  return data;
}

/** Formats the flag list of a help page, one flag per entry with its help text indented below. */
export function formatFlagHelp(specs: FlagSpec[]): string {
  const blocks = specs.map((spec) => {
    const placeholder = placeholderFor(spec.kind);
    const shownDefault = spec.defaultText === undefined ? '' : ` (default: ${spec.defaultText})`;
    const head = `  -${spec.name}${placeholder}${shownDefault}`;
    return `${head}\n${wrapText(spec.help, 6, 80)}`;
  });
  return blocks.join('\n\n');
}

function placeholderFor(kind: FlagKind): string {
  switch (kind) {
    case 'bool':
      return '';
    case 'int':
      return '=<int>';
    case 'duration':
      return '=<duration>';
    case 'map':
      return '=<key=value>';
    default:
      return '=<string>';
  }
}

/** Wraps text to `width` columns with every line indented by `indent` spaces. */
export function wrapText(text: string, indent: number, width: number): string {
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && pad.length + line.length + 1 + word.length > width) {
      lines.push(pad + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(pad + line);
  return lines.join('\n');
}
