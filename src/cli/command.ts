import { readFile } from 'node:fs/promises';
import { CofferClient, type SecretBody, type WrapInfo } from './client.js';
import { CliError, EXIT_OK, UsageError, describeRequestFailure } from './errors.js';
import { type FlagSpec, ParsedFlags, parseKeyValueArgs } from './flags.js';
import {
  type OutputFormat,
  type OutputOptions,
  formatFieldValue,
  formatJson,
  formatSecretTable,
  selectField,
} from './format.js';
import { type InputStream, readAll } from './prompt.js';
import { readStoredToken } from './token-helper.js';

/** Default address when neither -address, COFFER_ADDR nor VAULT_ADDR is set. */
export const DEFAULT_ADDRESS = 'http://127.0.0.1:8200';

/** The streams, environment and home directory a run of the CLI uses; tests pass their own. */
export interface CliIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: InputStream;
  env: Record<string, string | undefined>;
  /** Directory of the token helper file. */
  homeDir: string;
}

/** One verb such as `kv get`: its help, its flags and what it does. */
export interface Command {
  /** Words that select the command, e.g. `['kv', 'get']`. */
  path: string[];
  /** One-line summary for the list of commands. */
  synopsis: string;
  /** Usage line after `Usage: `, e.g. `coffer kv get [options] KEY`. */
  usage: string;
  /** Paragraphs of help shown above the flags. */
  description: string;
  flags: FlagSpec[];
  /** Whether the HTTP and output flags apply; false only for `server`. */
  usesApi?: boolean;
  run(ctx: CommandContext, args: string[]): Promise<number>;
}

/** Flags that select the server and TLS settings, accepted by every command that calls the API. */
export const HTTP_FLAGS: FlagSpec[] = [
  {
    name: 'address',
    kind: 'string',
    help: 'Address of the Coffer server, as a URL. Overrides COFFER_ADDR and VAULT_ADDR.',
    defaultText: DEFAULT_ADDRESS,
  },
  {
    name: 'ca-cert',
    kind: 'string',
    help: 'Path to a PEM file of CA certificates that verify the server certificate. Overrides COFFER_CACERT and VAULT_CACERT.',
  },
  {
    name: 'tls-skip-verify',
    kind: 'bool',
    help: 'Skip verifying the server certificate. Insecure; for testing only. Also set by VAULT_SKIP_VERIFY.',
  },
  {
    name: 'wrap-ttl',
    kind: 'duration',
    help: 'Wrap the response in a single-use token that lives this long, in seconds or a duration such as "5m".',
  },
];

/** Flags that shape the output. */
export const OUTPUT_FLAGS: FlagSpec[] = [
  {
    name: 'format',
    kind: 'string',
    help: 'Output format: "table" or "json". Also set by COFFER_FORMAT or VAULT_FORMAT.',
    defaultText: 'table',
  },
  {
    name: 'field',
    kind: 'string',
    help: 'Print only the value of this field, followed by one newline. Takes precedence over -format.',
  },
];

/** The `-h`/`-help` flags, accepted by every command. */
export const HELP_FLAGS: FlagSpec[] = [
  { name: 'h', kind: 'bool', help: 'Print this help.' },
  { name: 'help', kind: 'bool', help: 'Print this help.' },
];

/** Options of `CommandContext.call`. */
export interface CallOptions {
  /** Return a wrapped response to the command instead of printing its wrap info and stopping. */
  allowWrapped?: boolean;
}

/**
 * Ends a command whose API call returned a wrapped response (sent with -wrap-ttl). The response
 * contains only the wrapping token, so `main` prints its wrap info in place of the command's usual
 * output. This makes -wrap-ttl work the same way on every command.
 */
export class WrappedResponse extends Error {
  readonly body: SecretBody;

  constructor(body: SecretBody) {
    super('the response was wrapped');
    this.name = 'WrappedResponse';
    this.body = body;
  }
}

/** Returns true when `value` is a response body that carries a wrapping token. */
export function isWrappedBody(value: unknown): value is SecretBody & { wrap_info: WrapInfo } {
  if (value === null || typeof value !== 'object') return false;
  const wrapInfo = (value as SecretBody).wrap_info;
  return wrapInfo !== null && typeof wrapInfo === 'object' && typeof wrapInfo.token === 'string';
}

/** The state of one command run: parsed flags, I/O, and the API client built on first use. */
export class CommandContext {
  readonly io: CliIO;
  readonly flags: ParsedFlags;
  readonly output: OutputOptions;
  private clientPromise?: Promise<CofferClient>;

  constructor(io: CliIO, flags: ParsedFlags) {
    this.io = io;
    this.flags = flags;
    this.output = resolveOutput(flags, io.env);
  }

  /** Writes a line to stdout. */
  print(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Writes a line to stderr. */
  warn(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Returns the API client for the address, token and TLS settings of this run. */
  client(): Promise<CofferClient> {
    this.clientPromise ??= resolveClient(this.flags, this.io);
    return this.clientPromise;
  }

  /**
   * Runs an API call and turns its failure into a CliError such as
   * `Error reading secret/foo: permission denied (403)`; `action` is the `reading secret/foo` part.
   * A wrapped result ends the command with a WrappedResponse unless `options.allowWrapped` is set.
   */
  async call<T>(action: string, operation: (client: CofferClient) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const client = await this.client();
    let result: T;
    try {
      result = await operation(client);
    } catch (err) {
      if (err instanceof CliError) throw err;
      const hasToken = client.config.token !== undefined && client.config.token !== '';
      throw new CliError(`Error ${action}: ${describeRequestFailure(err, hasToken)}`);
    }
    if (!options.allowWrapped && isWrappedBody(result)) throw new WrappedResponse(result);
    return result;
  }

  /**
   * Prints a response in the chosen form: one field, the whole body as JSON, or a table. With
   * `fieldSource`, `-field` looks there for data keys (KV v2 nests the secret in `data.data`).
   */
  printSecret(body: SecretBody, fieldSource?: Record<string, unknown> | null): number {
    if (this.output.field !== undefined) {
      this.print(formatFieldValue(selectField(body, this.output.field, fieldSource), this.output.format));
    } else if (this.output.format === 'json') {
      this.print(formatJson(body));
    } else {
      const table = formatSecretTable(body);
      if (table !== '') this.print(table);
    }
    printWarnings(this, body);
    return EXIT_OK;
  }

  /** Reads `key=value` write arguments, with `@file` and `-` (stdin) values. */
  readKeyValueArgs(args: string[]): Promise<Record<string, string>> {
    return parseKeyValueArgs(args, (path) => this.readTextFile(path), () => readAll(this.io.stdin));
  }

  /** Reads a local file, with an error that names the file on failure. */
  async readTextFile(path: string): Promise<string> {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new CliError(`Error reading file ${path}: ${(err as Error).message}`);
    }
  }
}

/** Prints the server's warnings to stderr, in table format only so JSON output stays parseable. */
function printWarnings(ctx: CommandContext, body: SecretBody): void {
  if (ctx.output.format !== 'table' || ctx.output.field !== undefined) return;
  for (const warning of body.warnings ?? []) ctx.warn(`WARNING! ${warning}`);
}

function resolveOutput(flags: ParsedFlags, env: CliIO['env']): OutputOptions {
  const format = flags.string('format') ?? env.COFFER_FORMAT ?? env.VAULT_FORMAT ?? 'table';
  if (format !== 'table' && format !== 'json') {
    throw new UsageError(`invalid format ${JSON.stringify(format)}: use "table" or "json"`);
  }
  return { format: format as OutputFormat, field: flags.string('field') };
}

/** Resolves the API address: -address, then COFFER_ADDR, then VAULT_ADDR, then the default. */
export function resolveAddress(flags: ParsedFlags, env: CliIO['env']): string {
  const raw = flags.string('address') ?? nonEmpty(env.COFFER_ADDR) ?? nonEmpty(env.VAULT_ADDR) ?? DEFAULT_ADDRESS;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`invalid address ${JSON.stringify(raw)}: use a URL such as ${DEFAULT_ADDRESS}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid address ${JSON.stringify(raw)}: the scheme must be http or https`);
  }
  return raw.replace(/\/+$/, '');
}

/** Resolves the token: COFFER_TOKEN, then VAULT_TOKEN, then the token helper file. */
export async function resolveToken(env: CliIO['env'], homeDir: string): Promise<string | undefined> {
  return nonEmpty(env.COFFER_TOKEN) ?? nonEmpty(env.VAULT_TOKEN) ?? (await readStoredToken(homeDir));
}

async function resolveClient(flags: ParsedFlags, io: CliIO): Promise<CofferClient> {
  const address = resolveAddress(flags, io.env);
  const caCertPath = flags.string('ca-cert') ?? nonEmpty(io.env.COFFER_CACERT) ?? nonEmpty(io.env.VAULT_CACERT);
  let caCertPem: string | undefined;
  if (caCertPath !== undefined) {
    try {
      caCertPem = await readFile(caCertPath, 'utf8');
    } catch (err) {
      throw new CliError(`Error reading CA certificate ${caCertPath}: ${(err as Error).message}`);
    }
  }
  const skipFromEnv = nonEmpty(io.env.COFFER_SKIP_VERIFY) ?? nonEmpty(io.env.VAULT_SKIP_VERIFY);
  const tlsSkipVerify = flags.has('tls-skip-verify')
    ? flags.bool('tls-skip-verify')
    : skipFromEnv !== undefined && /^(1|t|true|yes)$/i.test(skipFromEnv);

  let token: string | undefined;
  try {
    token = await resolveToken(io.env, io.homeDir);
  } catch (err) {
    throw new CliError(`Error ${(err as Error).message}`);
  }
  return new CofferClient({ address, token, caCertPem, tlsSkipVerify, wrapTtl: flags.string('wrap-ttl') ?? nonEmpty(io.env.COFFER_WRAP_TTL) ?? nonEmpty(io.env.VAULT_WRAP_TTL) });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Throws UsageError unless `args` has between `min` and `max` entries. */
export function expectArgs(args: string[], min: number, max: number): void {
  if (args.length < min) {
    throw new UsageError(`Not enough arguments (expected ${min === max ? min : `at least ${min}`}, got ${args.length})`);
  }
  if (args.length > max) {
    throw new UsageError(`Too many arguments (expected ${min === max ? max : `at most ${max}`}, got ${args.length})`);
  }
}

/** Removes leading slashes and surrounding spaces from a path argument. */
export function cleanPath(path: string): string {
  return path.trim().replace(/^\/+/, '');
}
