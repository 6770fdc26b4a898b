import { BadRequestError } from '../../errors.js';
import type { LeaseContext, SecretType } from '../../framework/types.js';
import type { DatabaseEngine } from './engine.js';
import { readRole } from './model.js';
import { databaseError } from './plugin.js';

/** The internal data `creds/ROLE` stores in a lease. */
interface CredsInternalData {
  username: string;
  role: string;
  db_name: string;
  /** Seconds: the lease's maximum, so renewal never extends the user past it. */
  max_ttl: number;
  revocation_statements: string[];
  renew_statements: string[];
}

/**
 * Builds the `creds` secret type: revocation removes the dynamic user and renewal extends it. Both use
 * the role's current statements, or those saved in the lease when the role has been deleted. A
 * failure throws, so the expiration manager keeps the lease and retries.
 */
export function credsSecretType(engine: DatabaseEngine): SecretType {
  return {
    revoke: async (ctx) => {
      const data = readInternalData(ctx);
      const role = await readRole(engine.backend.storage, data.role);
      const { plugin } = await engine.plugin(data.db_name);
      try {
        await plugin.revokeUser({ username: data.username, statements: role?.revocation_statements ?? data.revocation_statements });
      } catch (err) {
        throw databaseError(`revoking database user ${JSON.stringify(data.username)} failed`, err, []);
      }
      engine.backend.logger.info({ lease_id: ctx.leaseId, db_name: data.db_name, username: data.username }, 'revoked a dynamic database user');
    },

    renew: async (ctx) => {
      const data = readInternalData(ctx);
      const role = await readRole(engine.backend.storage, data.role);
      if (role === null) throw new BadRequestError(`role ${JSON.stringify(data.role)} no longer exists; the lease cannot be renewed`);
      const system = engine.backend.system;
      let requested = ctx.increment;
      if (requested <= 0) requested = role.default_ttl > 0 ? role.default_ttl : system.defaultLeaseTtl();

      const now = Date.now();
      const maxEnd = data.max_ttl > 0 ? ctx.issueTime + data.max_ttl * 1000 : Number.POSITIVE_INFINITY;
      const expiration = Math.min(now + requested * 1000, maxEnd);
      const ttl = Math.floor((expiration - now) / 1000);
      if (ttl <= 0) throw new BadRequestError('the lease has reached its max TTL and cannot be renewed');

      const { plugin } = await engine.plugin(data.db_name);
      try {
        await plugin.renewUser({ username: data.username, expiration: new Date(expiration), statements: role.renew_statements });
      } catch (err) {
        throw databaseError(`renewing database user ${JSON.stringify(data.username)} failed`, err, []);
      }
      return { ttl };
    },
  };
}

function readInternalData(ctx: LeaseContext): CredsInternalData {
  const data = ctx.internalData as Partial<CredsInternalData>;
  if (typeof data.username !== 'string' || typeof data.db_name !== 'string' || typeof data.role !== 'string') {
    throw new BadRequestError(`lease ${ctx.leaseId} has no database username, role or db_name in its internal data`);
  }
  return {
    username: data.username,
    role: data.role,
    db_name: data.db_name,
    max_ttl: typeof data.max_ttl === 'number' ? data.max_ttl : 0,
    revocation_statements: Array.isArray(data.revocation_statements) ? data.revocation_statements : [],
    renew_statements: Array.isArray(data.renew_statements) ? data.renew_statements : [],
  };
}
