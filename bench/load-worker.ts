// The load generator: a child process of `run.ts` that drives a target with autocannon and sends
// the statistics back over IPC. Running it apart from both servers keeps its CPU use out of theirs.
import autocannon from 'autocannon';
import type { RequestSpec, RoundMessage, TargetStats, WorkerReply } from './load-protocol.js';

/** Raw results of the recorded rounds, by key, kept so the rounds can be merged. */
const recordedRounds = new Map<string, autocannon.RawResult[]>();

function toAutocannonRequest(spec: RequestSpec): autocannon.Request {
  const request: autocannon.Request = { method: spec.method, path: spec.path, headers: spec.headers, body: spec.body };
  const variants = spec.pathVariants;
  if (variants && variants > 0) {
    let counter = 0;
    request.setupRequest = (req) => {
      req.path = spec.path.replace('{n}', String(counter++ % variants));
      return req;
    };
  }
  return request;
}

/** Merges the rounds of one key: counts are summed, latency histograms are added together. */
function summarize(rounds: autocannon.RawResult[], message: RoundMessage): TargetStats {
  const statusCodes: Record<string, number> = {};
  let requests = 0;
  let durationSeconds = 0;
  let non2xx = 0;
  let connectionErrors = 0;
  let timeouts = 0;
  let mismatches = 0;
  for (const round of rounds) {
    requests += round.totalCompletedRequests;
    durationSeconds += round.duration;
    non2xx += round.non2xx;
    connectionErrors += round.errors;
    timeouts += round.timeouts;
    mismatches += round.mismatches;
    for (const [code, { count }] of Object.entries(round.statusCodeStats)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }

  // aggregateResult changes the objects it is given, so it gets copies.
  const merged = autocannon.aggregateResult(structuredClone(rounds), { url: message.url, connections: message.connections });
  return {
    rounds: rounds.length,
    requests,
    durationSeconds,
    requestsPerSecond: durationSeconds > 0 ? requests / durationSeconds : 0,
    latencyP50Ms: merged.latency.p50,
    latencyP99Ms: merged.latency.p99,
    latencyMaxMs: merged.latency.max,
    // autocannon counts timeouts among connection errors already.
    errors: non2xx + connectionErrors + mismatches,
    non2xx,
    connectionErrors,
    timeouts,
    statusCodes,
  };
}

async function runRound(message: RoundMessage): Promise<TargetStats> {
  const raw = (await autocannon({
    url: message.url,
    connections: message.connections,
    duration: message.durationSeconds,
    pipelining: 1,
    requests: message.requests.map(toAutocannonRequest),
    skipAggregateResult: true,
  })) as autocannon.RawResult;

  if (!message.record) return summarize([raw], message);
  const rounds = recordedRounds.get(message.key) ?? [];
  rounds.push(raw);
  recordedRounds.set(message.key, rounds);
  return summarize(rounds, message);
}

process.on('message', (message: RoundMessage) => {
  runRound(message).then(
    (stats) => process.send!({ id: message.id, ok: true, stats } satisfies WorkerReply),
    (err: unknown) => process.send!({ id: message.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies WorkerReply),
  );
});
process.on('disconnect', () => process.exit(0));
