import { type Command, expectArgs } from '../command.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'];

const server: Command = {
  path: ['server'],
  synopsis: 'Start a Coffer server',
  usage: 'coffer server [options]',
  description:
    'Starts a server that runs until it is stopped. With -dev it runs in development mode: ' +
    'in-memory storage, initialized and unsealed at start, with a root token printed on start. ' +
    'Dev mode keeps nothing on disk and is not for production. Otherwise -config is required.',
  usesApi: false,
  flags: [
    { name: 'dev', kind: 'bool', help: 'Run in development mode: in-memory, unsealed, with a known root token.' },
    { name: 'dev-root-token-id', kind: 'string', help: 'Root token to create in dev mode instead of a random one.' },
    {
      name: 'dev-listen-address',
      kind: 'string',
      help: 'Address to listen on in dev mode, as HOST:PORT.',
      defaultText: '127.0.0.1:8200',
    },
    { name: 'config', kind: 'string', help: 'Path to the server configuration file (HCL or JSON).' },
    { name: 'log-level', kind: 'string', help: 'Log level: trace, debug, info, warn or error.', defaultText: 'info' },
  ],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    const dev = ctx.flags.bool('dev');
    const configPath = ctx.flags.string('config');
    const logLevel = ctx.flags.string('log-level');
    const devListenAddress = ctx.flags.string('dev-listen-address');
    const devRootTokenId = ctx.flags.string('dev-root-token-id');

    if (!dev && configPath === undefined) {
      throw new UsageError('A configuration file is required: pass -config=FILE, or -dev for a development server');
    }
    if (!dev && (devListenAddress !== undefined || devRootTokenId !== undefined)) {
      throw new UsageError('-dev-listen-address and -dev-root-token-id need -dev');
    }
    if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
      throw new UsageError(`invalid -log-level ${JSON.stringify(logLevel)}: use one of ${LOG_LEVELS.join(', ')}`);
    }
    if (devListenAddress !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(devListenAddress)) {
      throw new UsageError(`invalid -dev-listen-address ${JSON.stringify(devListenAddress)}: use HOST:PORT, e.g. 127.0.0.1:8200`);
    }

    // Import on use, so client commands do not load the server's modules (storage, logging).
    const { runServer } = await import('../../server.js');
    try {
      await runServer({ dev, devRootTokenId, devListenAddress, configPath, logLevel });
    } catch (err) {
      throw new CliError(`Error starting the server: ${err instanceof Error ? err.message : String(err)}`);
    }
    return EXIT_OK;
  },
};

export const serverCommands: Command[] = [server];
