import { readFile } from 'node:fs/promises';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { readTcpListener } from './listener.js';
import { ConfigError, ConfigSection, ConfigSource, describeValue, type BlockRef } from './source.js';
import {
  DEFAULT_LEASE_TTL,
  DEFAULT_MAX_LEASE_TTL,
  type ListenerConfig,
  type ServerConfig,
  type StorageConfig,
} from './types.js';

// `cluster_addr` is accepted for compatibility with Vault configs and unused, because Coffer runs
// a single node. `disable_mlock` is accepted and has no effect, because Node.js cannot lock its
// heap into memory.
const TOP_LEVEL_KEYS = [
  'storage',
  'listener',
  'api_addr',
  'cluster_addr',
  'default_lease_ttl',
  'max_lease_ttl',
  'log_level',
  'ui',
  'disable_mlock',
] as const;

/** Deepest bracket nesting accepted in HCL. A server config needs about three levels. */
const MAX_HCL_NESTING = 32;

const LOG_LEVELS: Record<string, ServerConfig['logLevel']> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
};

/** A block found in the parsed config, with the reference used to find its line. */
interface Block {
  ref: BlockRef;
  section: ConfigSection;
}

/** Reads and validates a server configuration file (HCL, or JSON when the name ends in `.json`). */
export async function loadConfig(path: string): Promise<ServerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(`reading the config file failed (${reason})`, path);
  }
  return parseConfig(text, path);
}

/**
 * Parses and validates a server configuration. `source` names the text in messages. The text is
 * read as JSON when `source` ends in `.json` or the text starts with `{`, and as HCL otherwise.
 * Throws a ConfigError naming the file, line and key of the first problem.
 */
export async function parseConfig(text: string, source: string): Promise<ServerConfig> {
  const isJson = source.toLowerCase().endsWith('.json') || text.trimStart().startsWith('{');
  const file = new ConfigSource(source, text, isJson ? 'json' : 'hcl');
  const raw = isJson ? parseJsonText(file) : await parseHclText(file);
  const top = new ConfigSection(file, raw);
  top.checkKeys(TOP_LEVEL_KEYS);

  const storage = readStorage(top);
  const listeners = await readListeners(top);

  const apiAddr = top.string('api_addr');
  if (apiAddr !== undefined) checkApiAddr(top, apiAddr);
  top.string('cluster_addr');
  top.boolean('disable_mlock');

  const defaultLeaseTtl = top.duration('default_lease_ttl') ?? DEFAULT_LEASE_TTL;
  const maxLeaseTtl = top.duration('max_lease_ttl') ?? DEFAULT_MAX_LEASE_TTL;
  if (maxLeaseTtl < defaultLeaseTtl) {
    const key = top.has('max_lease_ttl') ? 'max_lease_ttl' : 'default_lease_ttl';
    throw top.error(
      key,
      `invalid ${key}: max_lease_ttl (${maxLeaseTtl}s) is less than default_lease_ttl (${defaultLeaseTtl}s)`,
    );
  }

  return {
    source,
    storage,
    listeners,
    ...(apiAddr === undefined ? {} : { apiAddr }),
    defaultLeaseTtl,
    maxLeaseTtl,
    logLevel: readLogLevel(top),
    ui: top.boolean('ui') ?? false,
  };
}

function parseJsonText(file: ConfigSource): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(file.text);
  } catch (err) {
    // V8 gives a position for most errors and quotes the source for some, which is cut off here.
    const message = (err as Error).message.replace(/, ".*" is not valid JSON$/s, '');
    const position = /at position (\d+)/.exec(message);
    const line = position === null ? undefined : file.lineAt(Number(position[1]));
    throw new ConfigError(`invalid JSON: ${message}`, file.name, line);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError('invalid config: expected a JSON object at the top level', file.name, 1);
  }
  return value as Record<string, unknown>;
}

async function parseHclText(file: ConfigSource): Promise<Record<string, unknown>> {
  // The HCL parser runs as one Go WebAssembly instance per process. Nesting a few thousand levels
  // deep overflows its stack, which ends the Go runtime and breaks every later parse, so deep
  // nesting is rejected before the text reaches it.
  // NOTE: closing brackets inside a heredoc still lower the count, so a crafted heredoc can hide
  // nesting from this check.
  const depth = bracketDepth(file.text);
  if (depth.max > MAX_HCL_NESTING) {
    throw new ConfigError(
      `invalid HCL: brackets nested more than ${MAX_HCL_NESTING} levels deep`,
      file.name,
      file.lineAt(depth.offset),
    );
  }

  try {
    return (await parseHcl(file.name, file.text)) as Record<string, unknown>;
  } catch (err) {
    throw hclSyntaxError(file, err);
  }
}

/**
 * Returns an upper bound on the bracket nesting of HCL text, and the offset where it is first
 * reached. Every `{`, `[` and `(` counts, even inside a string or comment, because a template
 * string can nest expressions. A closing bracket inside a quoted string or comment does not count,
 * so text cannot hide its depth behind quoted closers.
 */
function bracketDepth(text: string): { max: number; offset: number } {
  let depth = 0;
  let max = 0;
  let offset = 0;
  let quoted = false;
  let lineComment = false;
  let blockComment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[' || c === '(') {
      depth++;
      if (depth > max) {
        max = depth;
        offset = i;
      }
    } else if (c === '\n') {
      quoted = false;
      lineComment = false;
    } else if (quoted) {
      if (c === '\\' && text[i + 1] === '"') i++;
      else if (c === '"') quoted = false;
    } else if (blockComment) {
      if (c === '*' && text[i + 1] === '/') blockComment = false;
    } else if (!lineComment) {
      if (c === '"') quoted = true;
      else if (c === '#' || (c === '/' && text[i + 1] === '/')) lineComment = true;
      else if (c === '/' && text[i + 1] === '*') blockComment = true;
      else if (c === '}' || c === ']' || c === ')') depth = Math.max(0, depth - 1);
    }
  }
  return { max, offset };
}

/**
 * Converts the parser's error, such as `parse config: [coffer.hcl:2,9-3,1: Invalid expression;
 * Expected ...]`, into a ConfigError on the reported line.
 */
function hclSyntaxError(file: ConfigSource, err: unknown): ConfigError {
  const message = err instanceof Error ? err.message : String(err);
  const marker = `${file.name}:`;
  const at = message.indexOf(marker);
  const diagnostic = /^(\d+),\d+(?:-\d+(?:,\d+)?)?: ([^\]]*)/.exec(at === -1 ? '' : message.slice(at + marker.length));
  if (diagnostic === null) return new ConfigError(`invalid HCL: ${message}`, file.name);

  // Keep only the first diagnostic when the parser reports several.
  const next = diagnostic[2].indexOf(`, ${marker}`);
  const detail = next === -1 ? diagnostic[2] : diagnostic[2].slice(0, next);
  return new ConfigError(`invalid HCL: ${detail}`, file.name, Number(diagnostic[1]));
}

/**
 * Collects the blocks of type `type`. HCL gives `{label: [body, ...]}`. JSON configs may also give
 * `{label: body}` or `[{label: body}, ...]`, as Vault's JSON configs do.
 */
function readBlocks(top: ConfigSection, type: string, example: string): Block[] {
  if (!top.has(type)) return [];
  const value = top.body[type];
  const groups = Array.isArray(value) ? value : [value];
  const blocks: Block[] = [];
  const seen = new Map<string, number>();

  for (const group of groups) {
    if (group === null || typeof group !== 'object' || Array.isArray(group)) {
      throw top.error(type, `invalid ${type}: expected a labelled block such as ${example}, got ${describeValue(group)}`);
    }
    for (const [label, bodies] of Object.entries(group)) {
      for (const body of Array.isArray(bodies) ? bodies : [bodies]) {
        const index = seen.get(label) ?? 0;
        seen.set(label, index + 1);
        const ref = { type, label, index };
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw top.source.error(
            `invalid ${type} "${label}": expected a block such as ${example}, got ${describeValue(body)}`,
            undefined,
            ref,
          );
        }
        blocks.push({ ref, section: new ConfigSection(top.source, body as Record<string, unknown>, ref) });
      }
    }
  }
  return blocks;
}

function readStorage(top: ConfigSection): StorageConfig {
  const example = 'storage "sqlite" { path = "/var/lib/coffer/coffer.db" }';
  const blocks = readBlocks(top, 'storage', example);
  if (blocks.length === 0) {
    throw top.error(undefined, `missing storage block: add one, such as ${example} or storage "inmem" {}`);
  }
  if (blocks.length > 1) {
    throw top.source.error('more than one storage block: keep exactly one', undefined, blocks[1].ref);
  }

  const { ref, section } = blocks[0];
  switch (ref.label) {
    case 'inmem':
      section.checkKeys([]);
      return { type: 'inmem' };
    case 'sqlite': {
      section.checkKeys(['path']);
      const path = section.string('path');
      if (path === undefined || path.trim() === '') {
        throw section.error('path', 'missing path in storage "sqlite": set it to the database file, such as path = "/var/lib/coffer/coffer.db"');
      }
      return { type: 'sqlite', path };
    }
    default:
      throw top.source.error(
        `unsupported storage type ${JSON.stringify(ref.label)}. Expected "sqlite" or "inmem"`,
        undefined,
        ref,
      );
  }
}

async function readListeners(top: ConfigSection): Promise<ListenerConfig[]> {
  const example = 'listener "tcp" { address = "127.0.0.1:8200" }';
  const blocks = readBlocks(top, 'listener', example);
  if (blocks.length === 0) throw top.error(undefined, `missing listener block: add one, such as ${example}`);

  const listeners: ListenerConfig[] = [];
  for (const { ref, section } of blocks) {
    if (ref.label !== 'tcp') {
      throw top.source.error(`unsupported listener type ${JSON.stringify(ref.label)}. Expected "tcp"`, undefined, ref);
    }
    listeners.push(await readTcpListener(section));
  }
  return listeners;
}

function checkApiAddr(top: ConfigSection, apiAddr: string): void {
  let url: URL | undefined;
  try {
    url = new URL(apiAddr);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw top.error(
      'api_addr',
      `invalid api_addr: ${describeValue(apiAddr)}. Expected an http or https URL, such as "https://coffer.example.com:8200"`,
    );
  }
}

function readLogLevel(top: ConfigSection): ServerConfig['logLevel'] {
  const text = top.string('log_level');
  if (text === undefined) return 'info';
  const level = Object.hasOwn(LOG_LEVELS, text.trim().toLowerCase()) ? LOG_LEVELS[text.trim().toLowerCase()] : undefined;
  if (level === undefined) {
    throw top.error('log_level', `invalid log_level: ${describeValue(text)}. Expected one of: trace, debug, info, warn, error`);
  }
  return level;
}
