import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import {
  type CliIO,
  type Command,
  CommandContext,
  HELP_FLAGS,
  HTTP_FLAGS,
  OUTPUT_FLAGS,
  WrappedResponse,
} from './command.js';
import type { SecretBody } from './client.js';
import { auditCommands } from './commands/audit.js';
import { authCommands } from './commands/auth.js';
import { genericCommands } from './commands/generic.js';
import { kvCommands } from './commands/kv.js';
import { kvMetadataCommands } from './commands/kv-metadata.js';
import { leaseCommands } from './commands/lease.js';
import { loginCommands } from './commands/login.js';
import { operatorCommands } from './commands/operator.js';
import { policyCommands } from './commands/policy.js';
import { secretsCommands } from './commands/secrets.js';
import { serverCommands } from './commands/server.js';
import { tokenCommands } from './commands/token.js';
import { unwrapCommands } from './commands/unwrap.js';
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_UNKNOWN_COMMAND, UsageError } from './errors.js';
import { formatFlagHelp, parseArgs, wrapText } from './flags.js';

/** Every command, in the order the top-level help lists them. */
export const COMMANDS: Command[] = [
  ...genericCommands,
  ...kvCommands,
  ...kvMetadataCommands,
  ...loginCommands,
  ...operatorCommands,
  ...policyCommands,
  ...secretsCommands,
  ...serverCommands,
  ...tokenCommands,
  ...auditCommands,
  ...authCommands,
  ...leaseCommands,
  ...unwrapCommands,
];

/** Summaries of the command groups, for help pages that list their subcommands. */
const GROUPS: Record<string, string> = {
  kv: 'Interact with Coffer\'s key/value secrets engine',
  'kv metadata': 'Interact with key/value metadata (KV version 2)',
  operator: 'Perform operator-specific tasks',
  policy: 'Interact with policies',
  secrets: 'Interact with secrets engines',
  token: 'Interact with tokens',
  audit: 'Interact with audit devices',
  auth: 'Interact with auth methods',
  lease: 'Interact with leases',
};

const HELP_WORDS = new Set(['-h', '-help', '--help']);
const VERSION_WORDS = new Set(['-v', '-version', '--version', 'version']);

/**
 * Runs the `coffer` command with `argv`, the arguments after the program name, and returns the
 * exit code. The code is 0 on success, 1 on error, 2 on a usage error or a read that found
 * nothing, and 127 for a missing or unknown command. Tests pass `io` to replace the process
 * streams, environment and home directory.
 */
export async function main(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  const fullIo: CliIO = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
    homeDir: io.homeDir ?? homedir(),
  };

  if (argv.length === 0) {
    fullIo.stderr.write(`${formatTopHelp()}\n`);
    return EXIT_UNKNOWN_COMMAND;
  }
  if (argv.length === 1 && VERSION_WORDS.has(argv[0])) {
    fullIo.stdout.write(`Coffer v${readVersion()}\n`);
    return EXIT_OK;
  }
  if (argv[0] === 'help' || (argv.length === 1 && HELP_WORDS.has(argv[0]))) {
    return printHelpFor(fullIo, argv.slice(1));
  }

  const { command, rest } = findCommand(argv);
  if (command === undefined) {
    const words = argv.slice(0, argv.length - rest.length);
    const wantsHelp = rest.some((word) => HELP_WORDS.has(word));
    if (words.length > 0 && !wantsHelp && rest.length > 0 && !rest[0].startsWith('-')) {
      fullIo.stderr.write(`Unknown command: coffer ${[...words, rest[0]].join(' ')}\n\n`);
    } else if (words.length === 0) {
      fullIo.stderr.write(`Unknown command: ${argv[0]}\n\n`);
    }
    const help = words.length > 0 ? formatGroupHelp(words) : formatTopHelp();
    (wantsHelp ? fullIo.stdout : fullIo.stderr).write(`${help}\n`);
    return wantsHelp ? EXIT_OK : EXIT_UNKNOWN_COMMAND;
  }
  return runCommand(fullIo, command, rest);
}

async function runCommand(io: CliIO, command: Command, argv: string[]): Promise<number> {
  let ctx: CommandContext | undefined;
  try {
    const { flags, args } = parseArgs(argv, flagSpecsOf(command));
    if (flags.bool('h') || flags.bool('help')) {
      io.stdout.write(`${formatCommandHelp(command)}\n`);
      return EXIT_OK;
    }
    ctx = new CommandContext(io, flags);
    return await command.run(ctx, args);
  } catch (err) {
    if (err instanceof WrappedResponse && ctx !== undefined) return printWrapped(ctx, err.body);
    if (err instanceof UsageError) {
      io.stderr.write(`${err.message}\n\nUsage: ${command.usage}\nRun "coffer ${command.path.join(' ')} -h" for the flags.\n`);
      return err.exitCode;
    }
    if (err instanceof CliError) {
      io.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_ERROR;
  }
}

/** Prints a wrapped response. A `-field` the response lacks is reported like any other error. */
function printWrapped(ctx: CommandContext, body: SecretBody): number {
  try {
    return ctx.printSecret(body);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    ctx.warn(err.message);
    return err.exitCode;
  }
}

/** Returns the flags a command accepts: its own, help, and the shared HTTP and output flags. */
export function flagSpecsOf(command: Command) {
  return [...command.flags, ...HELP_FLAGS, ...(command.usesApi === false ? [] : [...HTTP_FLAGS, ...OUTPUT_FLAGS])];
}

/** Finds the command named by the longest run of leading words; `rest` is what follows it. */
export function findCommand(argv: string[]): { command?: Command; rest: string[] } {
  let best: Command | undefined;
  for (const command of COMMANDS) {
    const matches = command.path.every((word, index) => argv[index] === word);
    if (matches && (best === undefined || command.path.length > best.path.length)) best = command;
  }
  if (best !== undefined) return { command: best, rest: argv.slice(best.path.length) };

  // No command: report the longest group the words name, so its help can list the subcommands.
  let groupLength = 0;
  for (const group of Object.keys(GROUPS)) {
    const words = group.split(' ');
    if (words.length > groupLength && words.every((word, index) => argv[index] === word)) groupLength = words.length;
  }
  return { rest: argv.slice(groupLength) };
}

function printHelpFor(io: CliIO, words: string[]): number {
  if (words.length === 0) {
    io.stdout.write(`${formatTopHelp()}\n`);
    return EXIT_OK;
  }
  const { command, rest } = findCommand(words);
  if (command !== undefined && rest.length === 0) {
    io.stdout.write(`${formatCommandHelp(command)}\n`);
    return EXIT_OK;
  }
  const groupWords = words.slice(0, words.length - rest.length);
  if (command === undefined && rest.length === 0 && groupWords.length > 0) {
    io.stdout.write(`${formatGroupHelp(groupWords)}\n`);
    return EXIT_OK;
  }
  io.stderr.write(`No help for unknown command: coffer ${words.join(' ')}\n\n${formatTopHelp()}\n`);
  return EXIT_UNKNOWN_COMMAND;
}

function formatTopHelp(): string {
  const entries: Array<[string, string]> = [];
  for (const command of COMMANDS) {
    if (command.path.length === 1) entries.push([command.path[0], command.synopsis]);
  }
  for (const [group, synopsis] of Object.entries(GROUPS)) {
    if (!group.includes(' ')) entries.push([group, synopsis]);
  }
  entries.sort(([a], [b]) => a.localeCompare(b));
  return [
    'Usage: coffer <command> [options] [args]',
    '',
    'Coffer is a secrets server that speaks the HashiCorp Vault HTTP API. This command is its client.',
    '',
    'Commands:',
    ...formatEntries(entries),
    '',
    'Run "coffer <command> -h" for the help of a command.',
  ].join('\n');
}

function formatGroupHelp(words: string[]): string {
  const prefix = words.join(' ');
  const entries: Array<[string, string]> = [];
  for (const command of COMMANDS) {
    if (command.path.length === words.length + 1 && command.path.join(' ').startsWith(`${prefix} `)) {
      entries.push([command.path[words.length], command.synopsis]);
    }
  }
  for (const [group, synopsis] of Object.entries(GROUPS)) {
    if (group.startsWith(`${prefix} `) && group.split(' ').length === words.length + 1) {
      entries.push([group.split(' ')[words.length], synopsis]);
    }
  }
  entries.sort(([a], [b]) => a.localeCompare(b));
  return [
    `Usage: coffer ${prefix} <subcommand> [options] [args]`,
    '',
    `  ${GROUPS[prefix] ?? ''}`,
    '',
    'Subcommands:',
    ...formatEntries(entries),
    '',
    `Run "coffer ${prefix} <subcommand> -h" for the help of a subcommand.`,
  ].join('\n');
}

function formatEntries(entries: Array<[string, string]>): string[] {
  const width = Math.max(...entries.map(([name]) => name.length));
  return entries.map(([name, synopsis]) => `    ${name.padEnd(width)}    ${synopsis}`);
}

/** Formats the help page of one command: usage, description and every flag with its help text. */
export function formatCommandHelp(command: Command): string {
  const sections = [`Usage: ${command.usage}`, wrapText(command.description, 2, 80)];
  if (command.flags.length > 0) sections.push(`Command Options:\n\n${formatFlagHelp(command.flags)}`);
  if (command.usesApi !== false) {
    sections.push(`HTTP Options:\n\n${formatFlagHelp(HTTP_FLAGS)}`);
    sections.push(`Output Options:\n\n${formatFlagHelp(OUTPUT_FLAGS)}`);
  }
  return sections.join('\n\n');
}

function readVersion(): string {
  // Both src/cli/main.ts and dist/cli/main.js sit two levels below package.json.
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}
