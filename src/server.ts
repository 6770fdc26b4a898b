import type { Logger } from 'pino';
import { loadConfig } from './config/load.js';
import { DEFAULT_LEASE_TTL, DEFAULT_MAX_LEASE_TTL, DEFAULT_MAX_REQUEST_SIZE, type ServerConfig } from './config/types.js';
import { Core } from './core/core.js';
import { createHttpListener, type HttpListener } from './http/server.js';
import { createLogger } from './log.js';
import { createPhysical } from './storage/index.js';

export interface RunServerOptions {
  dev: boolean;
  devRootTokenId?: string;
  /** HOST:PORT; the default is 127.0.0.1:8200. */
  devListenAddress?: string;
  configPath?: string;
  logLevel?: string;
}

/** A running server: its core, bound listener addresses, and a way to stop it. */
export interface RunningServer {
  core: Core;
  config: ServerConfig;
  addresses: string[];
  /** Set in dev mode only. */
  rootToken?: string;
  unsealKey?: string;
  close(): Promise<void>;
}

/** Builds the configuration of a dev server: in memory, plain HTTP, on one loopback listener. */
export function devConfig(listenAddress = '127.0.0.1:8200', logLevel: ServerConfig['logLevel'] = 'info'): ServerConfig {
  return {
    storage: { type: 'inmem' },
    listeners: [{ type: 'tcp', address: listenAddress, tlsDisable: true, tlsMinVersion: 'tls12', maxRequestSize: DEFAULT_MAX_REQUEST_SIZE }],
    defaultLeaseTtl: DEFAULT_LEASE_TTL,
    maxLeaseTtl: DEFAULT_MAX_LEASE_TTL,
    logLevel,
    ui: false,
  };
}

/**
 * Starts a server from a configuration: storage, core, and listeners. In dev mode it also
 * initializes, unseals, and mounts KV version 2 at `secret/`.
 */
export async function startServer(config: ServerConfig, options: { dev?: boolean; devRootTokenId?: string; logger?: Logger } = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const physical = await createPhysical(config.storage);
  const core = new Core({
    physical,
    logger,
    ttl: { defaultLeaseTtl: config.defaultLeaseTtl, maxLeaseTtl: config.maxLeaseTtl },
    storageType: config.storage.type,
    apiAddr: config.apiAddr,
  });

  let dev: { unsealKey: string; rootToken: string } | undefined;
  if (options.dev) {
    dev = await core.initializeForDev(options.devRootTokenId);
    await core.mountEngine('secret/', { type: 'kv-v2', description: 'key/value secret storage' });
  }

  const listeners: HttpListener[] = [];
  try {
    for (const listenerConfig of config.listeners) listeners.push(await createHttpListener(listenerConfig, core, logger));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    await physical.close();
    throw err;
  }

  let closed = false;
  return {
    core,
    config,
    addresses: listeners.map((l) => l.address),
    rootToken: dev?.rootToken,
    unsealKey: dev?.unsealKey,
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all(listeners.map((l) => l.close()));
      if (!core.sealed) await core.sealServer();
      await physical.close();
    },
  };
}

/** Runs a server in the foreground until SIGINT or SIGTERM; used by `coffer server`. */
export async function runServer(options: RunServerOptions): Promise<void> {
  const level = (options.logLevel ?? 'info') as ServerConfig['logLevel'];
  let config: ServerConfig;
  if (options.dev) {
    config = devConfig(options.devListenAddress, level);
  } else {
    if (!options.configPath) throw new Error('missing -config=FILE; or run "coffer server -dev" for a development server');
    config = await loadConfig(options.configPath);
    if (options.logLevel) config.logLevel = level;
  }

  const server = await startServer(config, { dev: options.dev, devRootTokenId: options.devRootTokenId });
  printBanner(server, options.dev);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.core.logger.info({ signal }, 'shutting down');
      server.close().then(resolve, (err) => {
        server.core.logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGHUP', () => {
      server.core.audit.reload().catch((err: unknown) => server.core.logger.error({ err }, 'reopening audit files failed'));
    });
  });
}

function printBanner(server: RunningServer, dev: boolean): void {
  const address = server.addresses[0];
  const scheme = server.config.listeners[0]?.tlsDisable === false ? 'https' : 'http';
  const lines = [
    '==> Coffer server started.',
    '',
    `             Listener: ${server.addresses.map((a) => `${scheme}://${a}`).join(', ')}`,
    `              Storage: ${server.config.storage.type}`,
    '',
  ];
  if (dev) {
    lines.push(
      'WARNING! Dev mode is enabled: everything is kept in memory, and the server starts',
      'unsealed with one unseal key. Do not run dev mode in production.',
      '',
      'You may need to set the following environment variables:',
      '',
      `    export COFFER_ADDR='${scheme}://${address}'`,
      '',
      'The unseal key and root token are shown below, for development only.',
      '',
      `Unseal Key: ${server.unsealKey}`,
      `Root Token: ${server.rootToken}`,
      '',
    );
  } else {
    lines.push('The server is sealed until unsealed: run "coffer operator init" once, then "coffer operator unseal".', '');
  }
  process.stdout.write(lines.join('\n') + '\n');
}
