// Types for the parts of autocannon 9 the benchmark uses; the package ships none.
declare module 'autocannon' {
  namespace autocannon {
    interface RawRequest {
      method?: string;
      path: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    }
    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      setupRequest?: (request: RawRequest, context: Record<string, unknown>) => RawRequest | null;
    }
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      pipelining?: number;
      requests?: Request[];
      skipAggregateResult?: boolean;
    }
    /** A round's result when `skipAggregateResult` is set: counts plus encoded histograms. */
    interface RawResult {
      latencies: string;
      requests: string;
      throughput: string;
      totalCompletedRequests: number;
      totalRequests: number;
      totalBytes: number;
      samples: number;
      errors: number;
      timeouts: number;
      mismatches: number;
      non2xx: number;
      resets: number;
      statusCodeStats: Record<string, { count: number }>;
      /** Seconds. */
      duration: number;
    }
    interface Histogram {
      p50: number;
      p99: number;
      max: number;
      average: number;
    }
    interface Result {
      latency: Histogram;
      requests: Histogram & { total: number };
    }
    function aggregateResult(results: RawResult[], options: { url: string; connections?: number }): Result;
  }
  function autocannon(options: autocannon.Options): Promise<autocannon.Result | autocannon.RawResult>;
  export default autocannon;
}
