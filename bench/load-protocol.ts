// Messages between the benchmark runner and the load generator process (`load-worker.ts`).

/** One HTTP request the load generator repeats; plain data so it crosses the IPC channel. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT';
  /** Path with query; `{n}` is replaced by a counter modulo `pathVariants` when that is set. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Number of distinct paths to cycle through, e.g. 1000 keys for a write scenario. */
  pathVariants?: number;
}

/** Asks the load generator for one timed round against one target. */
export interface RoundMessage {
  id: number;
  /** Rounds with the same key are merged into one set of statistics. */
  key: string;
  /** Origin of the target, e.g. `http://127.0.0.1:8200`. */
  url: string;
  requests: RequestSpec[];
  connections: number;
  durationSeconds: number;
  /** False for a warm-up round, whose numbers are dropped. */
  record: boolean;
}

/** Statistics of every recorded round of one key. */
export interface TargetStats {
  rounds: number;
  /** Completed responses of any status. */
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** Non-2xx responses plus connection errors, timeouts and body mismatches. */
  errors: number;
  non2xx: number;
  connectionErrors: number;
  timeouts: number;
  /** Responses counted by HTTP status code. */
  statusCodes: Record<string, number>;
}

export type WorkerReply = { id: number; ok: true; stats: TargetStats } | { id: number; ok: false; error: string };
