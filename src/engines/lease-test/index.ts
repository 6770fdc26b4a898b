import { randomBytes } from 'node:crypto';
import type { Backend, BackendFactory } from '../../framework/types.js';

/**
 * A secrets engine for tests and benchmarks only: reading `creds/NAME` returns a random value
 * with a renewable lease of secret type `test`, so leases are created through the same pipeline
 * as a dynamic secret's. Its renew and revoke callbacks touch nothing outside Coffer.
 *
 * Core mounts it only when `COFFER_ENABLE_TEST_ENGINES=1` is set at startup (see
 * `ENGINE_FACTORIES` in `src/core/mounts.ts`).
 */
export const leaseTestBackend: BackendFactory = (): Backend => ({
  paths: [
    {
      pattern: 'creds/(?<name>.+)',
      fields: {
        name: { type: 'string', description: 'Name recorded in the lease; the lease ID starts with creds/NAME/.' },
        ttl: { type: 'duration', description: 'Lease TTL; 0 means the mount default.', default: 0 },
        max_ttl: { type: 'duration', description: 'Maximum lease lifetime; 0 means the mount maximum.', default: 0 },
      },
      operations: {
        read: async (ctx) => ({
          data: { value: randomBytes(16).toString('base64url') },
          secret: {
            type: 'test',
            ttl: ctx.fields.ttl as number,
            maxTtl: ctx.fields.max_ttl as number,
            renewable: true,
            internalData: { name: ctx.params.name },
          },
        }),
      },
      help: 'Returns a random value with a renewable lease whose revocation does nothing.',
    },
  ],
  secretTypes: {
    test: {
      async revoke() {},
      async renew() {
        // A TTL of 0 lets the expiration manager grant the increment the caller asked for.
        return { ttl: 0 };
      },
    },
  },
});
