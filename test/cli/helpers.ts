import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** The outcome of one CLI run: exit code and everything written to stdout and stderr. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one CLI run; `env` replaces the process environment entirely. */
export interface RunOptions {
  env?: Record<string, string | undefined>;
  homeDir?: string;
  stdin?: string;
}

/** Runs `main` in-process with captured output, an empty stdin unless given, and a fresh home. */
export async function runCli(argv: string[], options: RunOptions = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: options.env ?? {},
    homeDir: options.homeDir ?? makeTempDir(),
  });
  return { code, stdout, stderr };
}

/** Creates an empty temporary directory. */
export function makeTempDir(): string {
  return mkdtempSync(join(tmpdir(), 'coffer-cli-test-'));
}

/** Returns a loopback TCP port that was free a moment ago. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A dev server started as a child process with `coffer server -dev`. */
export interface DevServer {
  address: string;
  rootToken: string;
  /** Unseal key printed in the dev banner. */
  unsealKey: string;
  stop(): Promise<void>;
}

/**
 * Starts `coffer server -dev` on a free loopback port with root token "root" and waits until the
 * banner shows its unseal key and the API responds.
 */
export async function startDevServer(): Promise<DevServer> {
  // Port 0: the server picks a free port and prints it, so concurrent tests cannot take it first.
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/entry.ts', 'server', '-dev', '-dev-listen-address=127.0.0.1:0', '-dev-root-token-id=root', '-log-level=error'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  };

  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`dev server exited with ${child.exitCode}: ${output}`);
    const unsealKey = /Unseal Key: (\S+)/.exec(output)?.[1];
    const address = /Listener: (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
    if (unsealKey !== undefined && address !== undefined && (await responds(address))) {
      return { address, rootToken: 'root', unsealKey, stop };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`dev server did not start within 20 s: ${output}`);
}

async function responds(address: string): Promise<boolean> {
  try {
    const response = await fetch(`${address}/v1/sys/seal-status`);
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Builds CLI runners bound to a dev server and a home folder, which `target` returns when a command
 * runs (so they can be assigned in `before`). `run` uses the root token unless `env` overrides it,
 * and `ok` also asserts exit code 0.
 */
export function cliRunners(target: () => { server: DevServer; home: string }): {
  run: (argv: string[], options?: RunOptions) => Promise<CliResult>;
  ok: (argv: string[], options?: RunOptions) => Promise<CliResult>;
} {
  const run = (argv: string[], options: RunOptions = {}): Promise<CliResult> => {
    const { server, home } = target();
    return runCli(argv, {
      homeDir: home,
      ...options,
      env: { COFFER_ADDR: server.address, COFFER_TOKEN: server.rootToken, ...options.env },
    });
  };
  const ok = async (argv: string[], options: RunOptions = {}): Promise<CliResult> => {
    const result = await run(argv, options);
    assert.equal(result.code, 0, `coffer ${argv.join(' ')} failed: ${result.stderr}`);
    return result;
  };
  return { run, ok };
}
