// Benchmarks Coffer against a bare node:http server on this machine and prints the ratio table.
// Usage: npm run bench -- [--quick] [--connections N] [--duration SECONDS] [--scenario NAME] ...
// Run with --help for every option.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { enableFileAudit, initialize, unseal } from './coffer-api.js';
import type { RequestSpec, RoundMessage, TargetStats, WorkerReply } from './load-protocol.js';
import { buildDist, REPO_ROOT, startBareProcess, startCofferProcess, startLoadProcess, writeCofferConfig, type CofferBuild, type ServerProcess } from './processes.js';
import { describeFailures, describeMachine, formatTable, judge, type BenchReport, type RunSettings, type ScenarioResult } from './report.js';
import { prepareServer, SCENARIOS, type Scenario, type SetupContext } from './scenarios.js';

const USAGE = `Usage: npm run bench -- [options]

Starts a Coffer server (SQLite storage, file audit device, plain HTTP) and a bare node:http
server, each in its own process, and drives both from a third process with autocannon.

Options:
  --quick              short run for a smoke check: 2 s rounds, 1 round, no warm-up
  --connections N      concurrent keep-alive connections (default 32)
  --duration SECONDS   length of one measured round per server (default 10, quick 2)
  --rounds N           measured rounds per server and scenario, alternating servers (default 2, quick 1)
  --warmup SECONDS     unmeasured warm-up per server and scenario (default 2, quick 0)
  --scenario NAME      run only this scenario; repeat for several (${SCENARIOS.map((s) => s.name).join(', ')})
  --source             run the server from src/ through tsx instead of building dist/
  --skip-build         run dist/ as it is, without building it first
  --without-audit      leave the file audit device off, to measure what auditing costs
  --cpu-prof           write a V8 CPU profile of the Coffer server to bench/results/profiles/
  --output FILE        write the JSON results to FILE instead of bench/results/<timestamp>.json
  --help               print this help`;

interface RunOptions extends Omit<RunSettings, 'command'> {
  scenarios: Scenario[];
  skipBuild: boolean;
  cpuProfile: boolean;
  output?: string;
}

function positiveNumber(flag: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (!allowZero && parsed === 0)) {
    throw new Error(`invalid --${flag} ${JSON.stringify(value)}: expected a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return parsed;
}

function parseOptions(argv: string[]): RunOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      connections: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      source: { type: 'boolean', default: false },
      'skip-build': { type: 'boolean', default: false },
      'without-audit': { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      output: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return null;

  const quick = values.quick!;
  const names = (values.scenario ?? []).flatMap((name) => name.split(','));
  for (const name of names) {
    if (!SCENARIOS.some((s) => s.name === name)) {
      throw new Error(`unknown --scenario ${JSON.stringify(name)}: use one of ${SCENARIOS.map((s) => s.name).join(', ')}`);
    }
  }
  const rounds = positiveNumber('rounds', values.rounds, quick ? 1 : 2);
  if (!Number.isInteger(rounds)) throw new Error(`invalid --rounds ${values.rounds}: expected a whole number`);
  const connections = positiveNumber('connections', values.connections, 32);
  if (!Number.isInteger(connections)) throw new Error(`invalid --connections ${values.connections}: expected a whole number`);

  return {
    quick,
    connections,
    durationSeconds: positiveNumber('duration', values.duration, quick ? 2 : 10),
    rounds,
    warmupSeconds: positiveNumber('warmup', values.warmup, quick ? 0 : 2, true),
    scenarios: names.length > 0 ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS,
    build: values.source ? 'source' : 'dist',
    audit: values['without-audit'] ? 'none' : 'file',
    skipBuild: values['skip-build']!,
    cpuProfile: values['cpu-prof']!,
    output: values.output,
  };
}

/** Sends rounds to the load generator process and matches the replies by id. */
class LoadClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (stats: TargetStats) => void; reject: (err: Error) => void }>();

  constructor(private readonly child: ChildProcess) {
    child.on('message', (reply: WorkerReply) => {
      const pending = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (!pending) return;
      if (reply.ok) pending.resolve(reply.stats);
      else pending.reject(new Error(`load generator failed: ${reply.error}`));
    });
    child.once('exit', (code) => {
      for (const pending of this.waiting.values()) pending.reject(new Error(`load generator exited with code ${code}`));
      this.waiting.clear();
    });
  }

  round(message: Omit<RoundMessage, 'id'>): Promise<TargetStats> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ ...message, id });
    });
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

/** Runs the warm-ups and the measured rounds of one scenario, alternating the servers. */
async function measure(load: LoadClient, options: RunOptions, scenario: Scenario, targets: { coffer: [string, RequestSpec[]]; bare: [string, RequestSpec[]] }): Promise<{ coffer: TargetStats; bare: TargetStats }> {
  const base = { connections: options.connections };
  const run = (server: 'coffer' | 'bare', durationSeconds: number, record: boolean) => {
    const [url, requests] = targets[server];
    return load.round({ ...base, key: `${scenario.name}/${server}`, url, requests, durationSeconds, record });
  };

  if (options.warmupSeconds > 0) {
    await run('coffer', options.warmupSeconds, false);
    await run('bare', options.warmupSeconds, false);
  }

  // Order the servers coffer-bare, then bare-coffer, and so on, so drift in machine load hits both.
  const latest: Partial<Record<'coffer' | 'bare', TargetStats>> = {};
  for (let round = 0; round < options.rounds; round++) {
    const order: Array<'coffer' | 'bare'> = round % 2 === 0 ? ['coffer', 'bare'] : ['bare', 'coffer'];
    for (const server of order) {
      process.stderr.write(`${scenario.name}: round ${round + 1}/${options.rounds} on ${server}\n`);
      latest[server] = await run(server, options.durationSeconds, true);
    }
  }
  return { coffer: latest.coffer!, bare: latest.bare! };
}

async function runScenario(load: LoadClient, options: RunOptions, scenario: Scenario, context: SetupContext, bareUrl: string): Promise<ScenarioResult> {
  const base: ScenarioResult = { name: scenario.name, description: scenario.description, status: 'ran', targetRatio: scenario.targetRatio };
  let preparation;
  try {
    preparation = await scenario.prepare(context);
  } catch (err) {
    return { ...base, status: 'failed', reason: `setup failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  if ('skipped' in preparation) {
    process.stdout.write(`${scenario.name}: skipped: ${preparation.skipped}\n`);
    return { ...base, status: 'skipped', reason: preparation.skipped };
  }

  const stats = await measure(load, options, scenario, { coffer: [context.url, preparation.coffer], bare: [bareUrl, preparation.bare] });
  for (const [server, target] of Object.entries(stats)) {
    if (target.errors > 0) process.stdout.write(`${scenario.name}: ${server} answered ${target.errors} requests with errors: ${describeFailures(target)}\n`);
  }
  return judge({ ...base, ...stats });
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (!options) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const startedAt = new Date();
  const machine = describeMachine();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  if (options.build === 'dist' && !options.skipBuild) buildDist();

  const workDir = mkdtempSync(join(tmpdir(), 'coffer-bench-'));
  const profileDir = options.cpuProfile ? join(REPO_ROOT, 'bench/results/profiles', stamp) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const running: ServerProcess[] = [];
  let load: LoadClient | undefined;
  const results: ScenarioResult[] = [];
  try {
    // Start the servers and the load generator, each in its own process.
    // Port 0: each server lets the kernel choose and prints the address it got.
    const [cofferPort, barePort] = [0, 0];
    const { configPath } = writeCofferConfig(workDir, cofferPort);
    const coffer = await startCofferProcess({ configPath, port: cofferPort, build: options.build as CofferBuild, cpuProfileDir: profileDir });
    running.push(coffer);
    running.push(await startBareProcess(barePort));
    load = new LoadClient(startLoadProcess());

    // Set Coffer up as an operator would: initialize, unseal, audit to a file, then the mounts.
    const { keys, rootToken } = await initialize(coffer.url);
    await unseal(coffer.url, keys);
    if (options.audit === 'file') await enableFileAudit(coffer.url, rootToken, join(workDir, 'audit.log'));
    const context = await prepareServer(coffer.url, rootToken);

    for (const scenario of options.scenarios) results.push(await runScenario(load, options, scenario, context, running[1]!.url));
  } finally {
    load?.close();
    for (const server of running) await server.stop();
    rmSync(workDir, { recursive: true, force: true });
  }

  const { scenarios: _scenarios, skipBuild: _skipBuild, cpuProfile: _cpuProfile, output: _output, ...settings } = options;
  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    settings: { ...settings, command: `npm run bench -- ${argv.join(' ')}`.trim() },
    server: { storage: 'sqlite', audit: options.audit, tls: false },
    scenarios: results,
  };
  const outputPath = options.output ?? join(REPO_ROOT, 'bench/results', `${stamp}.json`);
  mkdirSync(dirname(outputPath), { recursive: true });
  writeFileSync(outputPath, JSON.stringify(report, null, 2) + '\n');

  process.stdout.write(`\n${formatTable(results)}\n\n`);
  process.stdout.write(`${machine.cores} cores, ${machine.cpuModel}, Node ${machine.nodeVersion}, load ${machine.loadAverage1m.toFixed(1)} at start; ${options.connections} connections, ${options.rounds} x ${options.durationSeconds} s per server; audit ${options.audit}\n`);
  process.stdout.write(`results: ${outputPath}\n`);
  if (profileDir) process.stdout.write(`CPU profile of the Coffer server: ${profileDir}\n`);
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
