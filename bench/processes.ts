import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, so the benchmark runs the same from any working directory. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Build the Coffer server runs from: compiled `dist/` through `bin/coffer.js`, or `src/` through tsx. */
export type CofferBuild = 'dist' | 'source';

/** A child process that serves HTTP on a loopback port. */
export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends SIGTERM and waits for the exit, so a CPU profile gets written. */
  stop(): Promise<void>;
}

/** Compiles `src/` into `dist/` as `npm run build` does. */
export function buildDist(): void {
  process.stderr.write('building dist/ with tsc ...\n');
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`npm run build failed, so dist/ may be stale; fix the errors or pass --source:\n${result.stdout}${result.stderr}`);
  }
}

/**
 * Writes a production-style server config into `dir`: SQLite storage, one plain-HTTP listener on
 * loopback, and log level info. Returns the config path and the database path.
 */
export function writeCofferConfig(dir: string, port: number): { configPath: string; dbPath: string } {
  const dbPath = join(dir, 'coffer.db');
  const configPath = join(dir, 'coffer.hcl');
  const lines = [
    'storage "sqlite" {',
    `  path = "${dbPath}"`,
    '}',
    'listener "tcp" {',
    `  address     = "127.0.0.1:${port}"`,
    '  tls_disable = true',
    '}',
    `api_addr  = "http://127.0.0.1:${port}"`,
    'log_level = "info"',
    '',
  ];
  writeFileSync(configPath, lines.join('\n'));
  return { configPath, dbPath };
}

/** Options of a Coffer server process. */
export interface CofferProcessOptions {
  configPath: string;
  port: number;
  build: CofferBuild;
  /** When set, the process runs with `--cpu-prof` and writes its profile into this folder on exit. */
  cpuProfileDir?: string;
  /** Variables added to this process's environment for the server. */
  env?: Record<string, string>;
}

/** Starts `coffer server -config=FILE` as a separate process and waits until it listens. */
export async function startCofferProcess(options: CofferProcessOptions): Promise<ServerProcess> {
  const nodeArgs: string[] = [];
  if (options.cpuProfileDir) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  const entry = options.build === 'dist' ? ['bin/coffer.js'] : ['--import', 'tsx', 'src/cli/entry.ts'];
  const child = spawn(process.execPath, [...nodeArgs, ...entry, 'server', `-config=${options.configPath}`], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchServer(child, listenerUrl(options.port, /Listener: (http:\/\/[\d.]+:\d+)/), '/v1/sys/health');
}

/** Starts the bare `node:http` server of `bare-server.ts` as a separate process. */
export async function startBareProcess(port: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/bare-server.ts'), String(port)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchServer(child, listenerUrl(port, /listening on (http:\/\/[\d.]+:\d+)/), '/');
}

/**
 * Returns how to find a server's URL: the fixed port, or for port 0 the address the process
 * prints once the kernel has chosen a free port. Port 0 avoids the race in which another process
 * takes a port between a harness choosing it and the server's listen.
 */
function listenerUrl(port: number, printed: RegExp): (output: string) => string | null {
  if (port !== 0) return () => `http://127.0.0.1:${port}`;
  return (output) => printed.exec(output)?.[1] ?? null;
}

/** Starts the load generator (`load-worker.ts`) as a child process with an IPC channel. */
export function startLoadProcess(): ChildProcess {
  return fork(join(REPO_ROOT, 'bench/load-worker.ts'), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** Collects a child's output and polls `probePath` until the server returns any status. */
async function watchServer(child: ChildProcess, urlOf: (output: string) => string | null, probePath: string): Promise<ServerProcess> {
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 30_000;
  let url: string | null = null;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server process exited with code ${child.exitCode} before listening:\n${output}`);
    url = urlOf(output);
    try {
      if (url === null) throw new Error('the server has not printed its address yet');
      await fetch(url + probePath);
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`server process did not start listening within 30 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  return {
    url: url!,
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
