import { spawnSync } from 'node:child_process';

/**
 * Decides whether a test that needs an outside service or tool runs. Returns false (skip, with the
 * reason printed) when it is absent, unless COFFER_REQUIRE_SERVICES=1, as in CI, where an absent
 * service is an error.
 */
export function requireService(name: string, available: boolean, reason: string): boolean {
  if (available) return true;
  if (process.env.COFFER_REQUIRE_SERVICES === '1') throw new Error(`${name} is required (COFFER_REQUIRE_SERVICES=1) but unavailable: ${reason}`);
  process.stderr.write(`# skipping ${name} tests: ${reason}\n`);
  return false;
}

/** True when Debian's python3 has the hvac package. */
export function hvacAvailable(): boolean {
  const result = spawnSync('/usr/bin/python3', ['-c', 'import hvac'], { stdio: 'ignore' });
  return result.status === 0;
}
