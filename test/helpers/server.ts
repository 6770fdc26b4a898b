import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { devConfig, startServer, type RunningServer } from '../../src/server.js';
import type { ServerConfig } from '../../src/config/types.js';

/** Starts an in-process dev server on a free loopback port; the root token is `root`. */
export async function startDevServer(overrides: Partial<ServerConfig> = {}): Promise<RunningServer & { url: string }> {
  const config = { ...devConfig('127.0.0.1:0', 'error'), ...overrides };
  const server = await startServer(config, { dev: true, devRootTokenId: 'root', logger: pino({ level: 'silent' }) });
  return Object.assign(server, { url: `http://${server.addresses[0]}` });
}

/** Starts an in-process server from a config, not initialized and sealed. */
export async function startConfiguredServer(config: ServerConfig): Promise<RunningServer & { url: string }> {
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  return Object.assign(server, { url: `http://${server.addresses[0]}` });
}

/** Writes a SQLite server config into a new temp folder and returns its paths. */
export function sqliteConfigFile(port: number, dir = mkdtempSync(join(tmpdir(), 'coffer-test-'))): { dir: string; configPath: string; dbPath: string } {
  const dbPath = join(dir, 'coffer.db');
  const configPath = join(dir, 'coffer.hcl');
  writeFileSync(
    configPath,
    [
      `storage "sqlite" {`,
      `  path = "${dbPath}"`,
      `}`,
      `listener "tcp" {`,
      `  address     = "127.0.0.1:${port}"`,
      `  tls_disable = true`,
      `}`,
      `log_level = "warn"`,
      '',
    ].join('\n'),
  );
  return { dir, configPath, dbPath };
}

/** A server process started the way the README says, through `bin/coffer.js`. */
export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Spawns `node bin/coffer.js ARGS` and waits until it prints its listener address and answers
 * sys/health there. Pass port 0 in the listen address or config so the server picks a free port:
 * choosing one beforehand races with other tests that start servers at the same time.
 */
export async function spawnServer(args: string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['bin/coffer.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let url: string | undefined;
  for (let attempt = 0; attempt < 400; attempt++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${output}`);
    url = /Listener: (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
    if (url) {
      try {
        await fetch(`${url}/v1/sys/health`);
        break;
      } catch {
        // Not answering yet.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (attempt === 399) throw new Error(`server did not start listening: ${output}`);
  }
  return {
    url: url!,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Returns a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Sends a JSON request to the server and returns the status and parsed body. */
export async function api(url: string, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers['X-Vault-Token'] = options.token;
  const response = await fetch(`${url}/v1/${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
