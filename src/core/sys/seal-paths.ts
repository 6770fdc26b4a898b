import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { COFFER_VERSION } from '../../version.js';
import type { Core } from '../core.js';

const initFields: Record<string, FieldSpec> = {
  secret_shares: { type: 'int', description: 'Number of unseal key shares to create.' },
  secret_threshold: { type: 'int', description: 'Number of shares needed to unseal.' },
  pgp_keys: { type: 'any', description: 'Not supported: PGP encryption of the shares.' },
  root_token_pgp_key: { type: 'string', description: 'Not supported: PGP encryption of the root token.' },
  stored_shares: { type: 'int', description: 'Must be 0: shares cannot be stored with a Shamir seal.' },
  recovery_shares: { type: 'int', description: 'Not used with a Shamir seal.' },
  recovery_threshold: { type: 'int', description: 'Not used with a Shamir seal.' },
  recovery_pgp_keys: { type: 'any', description: 'Not supported.' },
};

const healthFields: Record<string, FieldSpec> = Object.fromEntries(
  ['standbyok', 'perfstandbyok', 'activecode', 'standbycode', 'drsecondarycode', 'haunhealthycode', 'performancestandbycode', 'removedcode', 'sealedcode', 'uninitcode'].map(
    (name) => [name, { type: 'string', description: `Health check option ${name}.` } satisfies FieldSpec],
  ),
);

/** Builds the sys paths of initialization, sealing and health. Most are served while sealed. */
export function sealPaths(core: Core): PathSpec[] {
  const sealStatus = async (): Promise<Record<string, unknown>> => {
    const status = await core.seal.status();
    const cluster = core.sealed ? {} : core.clusterInfo();
    return {
      type: status.type,
      initialized: status.initialized,
      sealed: status.sealed,
      t: status.threshold,
      n: status.shares,
      progress: status.progress,
      nonce: status.nonce,
      version: COFFER_VERSION,
      build_date: '',
      migration: false,
      ...cluster,
      recovery_seal: false,
      storage_type: core.storageType,
    };
  };

  return [
    {
      pattern: 'init',
      fields: initFields,
      operations: {
        read: async () => raw(200, { initialized: await core.seal.isInitialized() }),
        update: async (ctx) => {
          const f = ctx.fields;
          if (f.pgp_keys !== undefined || f.root_token_pgp_key !== undefined || f.recovery_pgp_keys !== undefined) {
            throw new BadRequestError('PGP-encrypted key shares are not supported; initialize without pgp_keys and root_token_pgp_key');
          }
          if (f.stored_shares !== undefined && f.stored_shares !== 0) throw new BadRequestError('stored_shares is not supported with a Shamir seal; leave it out');
          if (f.secret_shares === undefined || f.secret_threshold === undefined) {
            throw new BadRequestError('missing "secret_shares" or "secret_threshold": for example {"secret_shares": 5, "secret_threshold": 3}');
          }
          const result = await core.initialize(f.secret_shares as number, f.secret_threshold as number);
          return raw(200, { keys: result.keys, keys_base64: result.keysBase64, root_token: result.rootToken });
        },
      },
    },
    { pattern: 'seal-status', operations: { read: async () => raw(200, await sealStatus()) } },
    {
      pattern: 'unseal',
      fields: {
        key: { type: 'string', description: 'One unseal key share, hex or base64.' },
        reset: { type: 'bool', description: 'Discards the shares submitted so far.' },
        migrate: { type: 'bool', description: 'Not supported: seal migration.' },
      },
      operations: {
        update: async (ctx) => {
          if (!(await core.seal.isInitialized())) throw new BadRequestError('Coffer is not initialized; run sys/init first');
          if (ctx.fields.migrate) throw new BadRequestError('seal migration is not supported');
          const key = ctx.fields.key as string | undefined;
          const reset = Boolean(ctx.fields.reset);
          if (!key && !reset) throw new BadRequestError('missing "key": submit one unseal key share, or "reset": true');
          await core.unseal(key ?? '', reset);
          return raw(200, await sealStatus());
        },
      },
    },
    {
      pattern: 'seal',
      operations: {
        update: async () => {
          await core.sealServer();
          core.logger.info('sealed by request');
          return null;
        },
      },
    },
    { pattern: 'health', fields: healthFields, operations: { read: async (ctx) => health(core, ctx) } },
    {
      pattern: 'leader',
      operations: {
        read: async () =>
          raw(200, {
            ha_enabled: false,
            is_self: false,
            active_time: '0001-01-01T00:00:00Z',
            leader_address: '',
            leader_cluster_address: '',
            performance_standby: false,
            performance_standby_last_remote_wal: 0,
          }),
      },
    },
    {
      pattern: 'key-status',
      operations: {
        read: async () => {
          const status = core.barrier.keyStatus();
          return { data: { term: status.term, install_time: status.installTime.toISOString(), encryptions: status.encryptions }, mirrorDataAtTopLevel: true };
        },
      },
    },
    {
      pattern: 'rotate',
      operations: {
        update: async () => {
          const status = await core.barrier.rotate();
          core.logger.info({ term: status.term }, 'barrier key rotated');
          return null;
        },
      },
    },
  ];
}

async function health(core: Core, ctx: HandlerContext): Promise<LogicalResponse> {
  const code = (name: string, fallback: number): number => {
    const value = ctx.fields[name] as string | undefined;
    if (value === undefined || value === '') return fallback;
    if (!/^\d{3}$/.test(value)) throw new BadRequestError(`invalid "${name}": expected an HTTP status code such as 200`);
    return Number(value);
  };
  const initialized = await core.seal.isInitialized();
  const sealed = core.sealed;
  let status = code('activecode', 200);
  if (!initialized) status = code('uninitcode', 501);
  else if (sealed) status = code('sealedcode', 503);

  return raw(status, {
    initialized,
    sealed,
    standby: false,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(Date.now() / 1000),
    version: COFFER_VERSION,
    enterprise: false,
    ...(sealed ? {} : core.clusterInfo()),
    echo_duration_ms: 0,
    clock_skew_ms: 0,
  });
}

function raw(status: number, body: unknown): LogicalResponse {
  return { raw: { status, body } };
}
