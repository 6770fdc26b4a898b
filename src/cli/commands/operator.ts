import type { SecretBody } from '../client.js';
import { type Command, type CommandContext, expectArgs } from '../command.js';
import { CliError, EXIT_OK, EXIT_USAGE, UsageError } from '../errors.js';
import { formatJson, formatKeyValueTable } from '../format.js';
import { readHidden, readLine } from '../prompt.js';

/** Returns the rows of `coffer status` for a `sys/seal-status` response, as Vault's CLI shows them. */
export function sealStatusRows(status: SecretBody, haEnabled?: boolean): Array<[string, unknown]> {
  const rows: Array<[string, unknown]> = [
    ['Seal Type', status.type ?? 'shamir'],
    ['Initialized', status.initialized ?? false],
    ['Sealed', status.sealed ?? true],
    ['Total Shares', status.n ?? 0],
    ['Threshold', status.t ?? 0],
  ];
  if (status.sealed !== false) {
    rows.push(['Unseal Progress', `${String(status.progress ?? 0)}/${String(status.t ?? 0)}`]);
    rows.push(['Unseal Nonce', status.nonce ? status.nonce : 'n/a']);
  }
  for (const [label, key] of [
    ['Version', 'version'],
    ['Build Date', 'build_date'],
    ['Storage Type', 'storage_type'],
    ['Cluster Name', 'cluster_name'],
    ['Cluster ID', 'cluster_id'],
  ] as const) {
    if (status[key] !== undefined && status[key] !== '') rows.push([label, status[key]]);
  }
  if (haEnabled !== undefined) rows.push(['HA Enabled', haEnabled]);
  return rows;
}

/** Prints a seal status response as a table or as JSON. */
function printSealStatus(ctx: CommandContext, status: SecretBody, haEnabled?: boolean): void {
  if (ctx.output.format === 'json') {
    ctx.print(formatJson(haEnabled === undefined ? status : { ...status, ha_enabled: haEnabled }));
  } else {
    ctx.print(formatKeyValueTable(sealStatusRows(status, haEnabled)));
  }
}

const status: Command = {
  path: ['status'],
  synopsis: 'Print seal and HA status',
  usage: 'coffer status [options]',
  description:
    'Prints whether the server is initialized and sealed. No token is needed. The exit code is 0 ' +
    'when the server is unsealed, 2 when it is sealed, and 1 on error.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    const sealStatus = await ctx.call('checking seal status', (client) => client.request('GET', 'sys/seal-status'));
    if (sealStatus === null) throw new CliError('Error checking seal status: the server returned an empty response');

    let haEnabled: boolean | undefined;
    if (sealStatus.sealed === false) {
      // sys/leader reports HA; a server without it still has a useful status, so ignore failures.
      const client = await ctx.client();
      const leader = await client.request('GET', 'sys/leader').catch(() => null);
      if (typeof leader?.ha_enabled === 'boolean') haEnabled = leader.ha_enabled;
    }
    printSealStatus(ctx, sealStatus, haEnabled);
    return sealStatus.sealed === false ? EXIT_OK : EXIT_USAGE;
  },
};

const init: Command = {
  path: ['operator', 'init'],
  synopsis: 'Initialize a server',
  usage: 'coffer operator init [options]',
  description:
    'Initializes a new server: generates the root key, splits it into unseal key shares with ' +
    'Shamir\'s secret sharing, and creates the initial root token. The shares and the root token ' +
    'are printed once and never stored by the server in plain form; keep them safe.',
  flags: [
    { name: 'key-shares', kind: 'int', help: 'Number of unseal key shares to generate, from 1 to 255.', defaultText: '5' },
    { name: 'key-threshold', kind: 'int', help: 'Number of shares needed to unseal, from 1 to -key-shares.', defaultText: '3' },
    { name: 'status', kind: 'bool', help: 'Only report whether the server is initialized: exit 0 if it is, 2 if not.' },
  ],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    if (ctx.flags.bool('status')) return printInitStatus(ctx);

    const shares = ctx.flags.int('key-shares') ?? 5;
    const threshold = ctx.flags.int('key-threshold') ?? 3;
    if (shares < 1 || shares > 255) throw new UsageError(`invalid -key-shares ${shares}: use 1 to 255`);
    if (threshold < 1 || threshold > shares) {
      throw new UsageError(`invalid -key-threshold ${threshold}: use 1 to -key-shares (${shares})`);
    }
    if (shares > 1 && threshold === 1) {
      throw new UsageError('invalid -key-threshold 1: with more than one share the threshold must be at least 2');
    }

    const body = await ctx.call('initializing', (client) =>
      client.write('sys/init', { secret_shares: shares, secret_threshold: threshold }),
    );
    const keysB64 = (body?.keys_base64 ?? []) as string[];
    const keysHex = (body?.keys ?? []) as string[];
    const rootToken = String(body?.root_token ?? '');
    if (ctx.output.format === 'json') {
      ctx.print(
        formatJson({ unseal_keys_b64: keysB64, unseal_keys_hex: keysHex, unseal_shares: shares, unseal_threshold: threshold, root_token: rootToken }),
      );
      return EXIT_OK;
    }
    const keyLines = keysB64.map((key, index) => `Unseal Key ${index + 1}: ${key}`);
    ctx.print(
      [
        ...keyLines,
        '',
        `Initial Root Token: ${rootToken}`,
        '',
        `Coffer initialized with ${shares} key shares and a key threshold of ${threshold}. Give each`,
        'unseal key share to a different person and store it safely. After every restart or seal,',
        `${threshold} of these shares must be entered with "coffer operator unseal" before the server`,
        'serves requests again.',
        '',
        `Coffer does not keep the root key. If fewer than ${threshold} shares remain, the data cannot be`,
        'unsealed and is lost.',
      ].join('\n'),
    );
    return EXIT_OK;
  },
};

async function printInitStatus(ctx: CommandContext): Promise<number> {
  const body = await ctx.call('checking initialization status', (client) => client.request('GET', 'sys/init'));
  const initialized = body?.initialized === true;
  ctx.print(initialized ? 'Coffer is initialized' : 'Coffer is not initialized');
  return initialized ? EXIT_OK : EXIT_USAGE;
}

const unseal: Command = {
  path: ['operator', 'unseal'],
  synopsis: 'Unseal a server',
  usage: 'coffer operator unseal [options] [KEY]',
  description:
    'Enters one unseal key share. Once the threshold of shares is entered the server unseals. ' +
    'Without KEY the command prompts for it without echo on a terminal, or reads one line from ' +
    'stdin otherwise; prefer that to KEY, which shell history records.',
  flags: [{ name: 'reset', kind: 'bool', help: 'Discard the shares entered so far and start over.' }],
  async run(ctx, args) {
    expectArgs(args, 0, 1);
    let request: Record<string, unknown>;
    if (ctx.flags.bool('reset')) {
      request = { reset: true };
    } else {
      const key = args[0] ?? (await readUnsealKey(ctx));
      if (key.trim() === '') throw new UsageError('No unseal key given: pass it as an argument or on stdin');
      request = { key: key.trim() };
    }
    const body = await ctx.call('unsealing', (client) => client.write('sys/unseal', request));
    if (body === null) throw new CliError('Error unsealing: the server returned an empty response');
    printSealStatus(ctx, body);
    return EXIT_OK;
  },
};

function readUnsealKey(ctx: CommandContext): Promise<string> {
  const stdin = ctx.io.stdin;
  if (stdin.isTTY) return readHidden(stdin, ctx.io.stderr, 'Unseal Key (will be hidden): ');
  return readLine(stdin);
}

const seal: Command = {
  path: ['operator', 'seal'],
  synopsis: 'Seal a server',
  usage: 'coffer operator seal [options]',
  description:
    'Seals the server: it drops the keys from memory and answers requests with 503 until enough ' +
    'unseal key shares are entered again. Needs a token with sudo on sys/seal.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    await ctx.call('sealing', (client) => client.request('PUT', 'sys/seal'));
    ctx.print('Success! Coffer is sealed.');
    return EXIT_OK;
  },
};

function keyStatusRows(body: SecretBody | null): Array<[string, unknown]> {
  const data = (body?.data ?? body ?? {}) as Record<string, unknown>;
  const rows: Array<[string, unknown]> = [
    ['Key Term', data.term ?? ''],
    ['Install Time', data.install_time ?? ''],
  ];
  if (data.encryptions !== undefined) rows.push(['Encryption Count', data.encryptions]);
  return rows;
}

const keyStatus: Command = {
  path: ['operator', 'key-status'],
  synopsis: 'Provide information about the active encryption key',
  usage: 'coffer operator key-status [options]',
  description: 'Prints the term (number) and install time of the keyring\'s active encryption key.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    const body = await ctx.call('reading key status', (client) => client.request('GET', 'sys/key-status'));
    if (ctx.output.format === 'json') ctx.print(formatJson(body));
    else ctx.print(formatKeyValueTable(keyStatusRows(body)));
    return EXIT_OK;
  },
};

const rotate: Command = {
  path: ['operator', 'rotate'],
  synopsis: 'Rotate the underlying encryption key',
  usage: 'coffer operator rotate [options]',
  description:
    'Adds a new encryption key to the keyring and makes it active for new writes. Older keys stay ' +
    'to decrypt existing data. Needs a token with sudo on sys/rotate.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    await ctx.call('rotating key', (client) => client.request('PUT', 'sys/rotate'));
    const body = await ctx.call('reading key status', (client) => client.request('GET', 'sys/key-status'));
    if (ctx.output.format === 'json') {
      ctx.print(formatJson(body));
    } else {
      ctx.print(`Success! Rotated key\n\n${formatKeyValueTable(keyStatusRows(body))}`);
    }
    return EXIT_OK;
  },
};

export const operatorCommands: Command[] = [status, init, unseal, seal, keyStatus, rotate];
