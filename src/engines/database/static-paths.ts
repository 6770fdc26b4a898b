import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import type { DatabaseEngine } from './engine.js';
import { parseCron } from './cron.js';
import { checkName, configForRole, readStaticRole, storageKeys, writeStaticRole, type StaticRole } from './model.js';
import { checkCredentialType } from './role-paths.js';
import { nextRotationAfterSuccess, type RotationScheduler } from './rotation.js';
import { readStatementList } from './statements.js';

/** Shortest rotation period, as in Vault. */
const MIN_ROTATION_PERIOD_SECONDS = 5;
/** Shortest rotation window, as in Vault. */
const MIN_ROTATION_WINDOW_SECONDS = 3600;

const STATIC_ROLE_FIELDS: Record<string, FieldSpec> = {
  db_name: { type: 'string', description: 'Name of the database connection the role uses.' },
  username: { type: 'string', description: 'The existing database user whose password Coffer rotates.' },
  rotation_period: { type: 'duration', description: 'Time between rotations; at least 5 seconds.' },
  rotation_schedule: { type: 'string', description: 'Cron expression (UTC) of rotation times; instead of rotation_period.' },
  rotation_window: { type: 'duration', description: 'How long after a scheduled time a failed rotation is retried; at least 1 hour.' },
  rotation_statements: { type: 'any', description: 'Statements that set the password, with {{name}} and {{password}}.' },
  credential_type: { type: 'string', description: 'Type of credential; only "password" is supported.' },
  credential_config: { type: 'map', description: 'Settings of the credential type.' },
};

/** Builds `static-roles/NAME`, `static-creds/NAME` and `rotate-role/NAME`. */
export function staticPaths(engine: DatabaseEngine, scheduler: RotationScheduler): PathSpec[] {
  const storage = engine.backend.storage;
  return [
    {
      pattern: 'static-roles/?',
      operations: { list: async () => ({ data: { keys: await storage.list(storageKeys.staticRolePrefix) } }) },
      help: 'Lists the static roles.',
    },
    {
      pattern: 'static-roles/(?<name>.+)',
      fields: STATIC_ROLE_FIELDS,
      existenceCheck: async (ctx) => (await readStaticRole(storage, ctx.params.name)) !== null,
      operations: {
        read: async (ctx) => {
          const role = await readStaticRole(storage, nameOf(ctx));
          return role === null ? null : { data: describeStaticRole(role) };
        },
        update: (ctx) => engine.locks.run(`static:${nameOf(ctx)}`, () => writeStaticRoleEntry(engine, scheduler, ctx)),
        delete: async (ctx) => {
          const name = nameOf(ctx);
          await engine.locks.run(`static:${name}`, () => storage.delete(storageKeys.staticRole(name)));
          scheduler.remove(name);
          return null;
        },
      },
      help: 'Maps a role to an existing database user whose password Coffer rotates. Deleting the role leaves the user.',
    },
    {
      pattern: 'static-creds/(?<name>.+)',
      operations: {
        read: async (ctx) => {
          const role = await readStaticRole(storage, nameOf(ctx));
          if (role === null) throw new BadRequestError(`unknown static role: ${nameOf(ctx)}`);
          return staticCredentials(role);
        },
      },
      help: 'Returns the current password of a static role and the seconds until its next rotation.',
    },
    {
      pattern: 'rotate-role/(?<name>.+)',
      operations: {
        update: async (ctx) => {
          const name = nameOf(ctx);
          if ((await readStaticRole(storage, name)) === null) throw new BadRequestError(`unknown static role: ${name}`);
          await scheduler.rotate(name, 'manual');
          return null;
        },
      },
      help: 'Rotates the password of a static role now.',
    },
  ];
}

/**
 * Creates or updates a static role. A new role's password is rotated at once, because Coffer must
 * know it; if that fails the role is not created. `username` and `db_name` cannot change.
 */
async function writeStaticRoleEntry(engine: DatabaseEngine, scheduler: RotationScheduler, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const name = nameOf(ctx);
  const { fields } = ctx;
  const storage = engine.backend.storage;
  const existing = await readStaticRole(storage, name);

  const dbName = (fields.db_name as string | undefined) ?? existing?.db_name ?? '';
  const username = (fields.username as string | undefined) ?? existing?.username ?? '';
  if (dbName === '') throw new BadRequestError('missing required field "db_name"');
  if (username === '') throw new BadRequestError('missing required field "username"');
  if (existing && existing.username !== username) throw new BadRequestError('cannot change the username of a static role; delete and recreate it');
  if (existing && existing.db_name !== dbName) throw new BadRequestError('cannot change the db_name of a static role; delete and recreate it');

  const rotation = readRotationSettings(fields, existing);
  const credentialType = (fields.credential_type as string | undefined) ?? existing?.credential_type ?? 'password';
  checkCredentialType(credentialType);
  await configForRole(storage, dbName, name);

  const now = Date.now();
  const role: StaticRole = {
    db_name: dbName,
    username,
    ...rotation,
    rotation_statements:
      fields.rotation_statements !== undefined ? readStatementList('rotation_statements', fields.rotation_statements) : (existing?.rotation_statements ?? []),
    credential_type: credentialType,
    password: existing?.password ?? '',
    last_vault_rotation: existing?.last_vault_rotation ?? 0,
    next_rotation: 0,
    scheduled_rotation: 0,
    failed_attempts: existing?.failed_attempts ?? 0,
    ...(existing?.last_error ? { last_error: existing.last_error } : {}),
  };

  if (existing) {
    // A changed period or schedule counts from the last rotation.
    const next = nextRotationAfterSuccess(role, role.last_vault_rotation || now);
    role.next_rotation = next;
    role.scheduled_rotation = next;
    await writeStaticRole(storage, name, role);
    scheduler.schedule(name, next);
    return null;
  }

  // The first rotation runs with the role stored but not yet scheduled; a failure removes it again.
  await writeStaticRole(storage, name, { ...role, next_rotation: Number.MAX_SAFE_INTEGER });
  try {
    await rotateNew(engine, scheduler, name);
  } catch (err) {
    await storage.delete(storageKeys.staticRole(name));
    scheduler.remove(name);
    throw err;
  }
  return null;
}

/** Runs the first rotation of a new role without taking the role's lock, which the caller holds. */
async function rotateNew(engine: DatabaseEngine, scheduler: RotationScheduler, name: string): Promise<void> {
  const storage = engine.backend.storage;
  const role = (await readStaticRole(storage, name))!;
  const config = await configForRole(storage, role.db_name, name);
  const { plugin } = await engine.plugin(role.db_name);
  const password = await engine.generatePassword(config);
  await plugin.setPassword({ username: role.username, password, statements: role.rotation_statements });

  const now = Date.now();
  const next = nextRotationAfterSuccess(role, now);
  await writeStaticRole(storage, name, { ...role, password, last_vault_rotation: now, next_rotation: next, scheduled_rotation: next, failed_attempts: 0 });
  scheduler.schedule(name, next);
}

type RotationSettings = Pick<StaticRole, 'rotation_period' | 'rotation_schedule' | 'rotation_window'>;

/** Reads rotation_period or rotation_schedule (with rotation_window); a write may switch between them. */
function readRotationSettings(fields: Record<string, unknown>, existing: StaticRole | null): RotationSettings {
  const period = fields.rotation_period as number | undefined;
  const schedule = fields.rotation_schedule as string | undefined;
  const window = fields.rotation_window as number | undefined;
  if (period !== undefined && schedule !== undefined && schedule !== '') {
    throw new BadRequestError('set either rotation_period or rotation_schedule, not both');
  }
  if (period !== undefined) {
    if (period < MIN_ROTATION_PERIOD_SECONDS) throw new BadRequestError(`rotation_period must be at least ${MIN_ROTATION_PERIOD_SECONDS} seconds`);
    if (window !== undefined && window !== 0) throw new BadRequestError('rotation_window applies only with rotation_schedule');
    return { rotation_period: period, rotation_schedule: '', rotation_window: 0 };
  }
  if (schedule !== undefined && schedule !== '') {
    parseCron(schedule);
    const rotationWindow = window ?? 0;
    if (rotationWindow !== 0 && rotationWindow < MIN_ROTATION_WINDOW_SECONDS) {
      throw new BadRequestError(`rotation_window must be at least ${MIN_ROTATION_WINDOW_SECONDS} seconds`);
    }
    return { rotation_period: 0, rotation_schedule: schedule, rotation_window: rotationWindow };
  }
  if (existing) {
    if (window !== undefined && existing.rotation_schedule === '') throw new BadRequestError('rotation_window applies only with rotation_schedule');
    if (window !== undefined && window !== 0 && window < MIN_ROTATION_WINDOW_SECONDS) {
      throw new BadRequestError(`rotation_window must be at least ${MIN_ROTATION_WINDOW_SECONDS} seconds`);
    }
    return { rotation_period: existing.rotation_period, rotation_schedule: existing.rotation_schedule, rotation_window: window ?? existing.rotation_window };
  }
  throw new BadRequestError('missing rotation_period or rotation_schedule');
}

function describeStaticRole(role: StaticRole): Record<string, unknown> {
  return {
    db_name: role.db_name,
    username: role.username,
    rotation_statements: role.rotation_statements,
    credential_type: role.credential_type,
    last_vault_rotation: role.last_vault_rotation ? new Date(role.last_vault_rotation).toISOString() : null,
    next_vault_rotation: new Date(role.next_rotation).toISOString(),
    ...rotationFields(role),
    ...(role.last_error ? { last_rotation_error: role.last_error } : {}),
  };
}

function staticCredentials(role: StaticRole): LogicalResponse {
  return {
    data: {
      username: role.username,
      password: role.password,
      last_vault_rotation: new Date(role.last_vault_rotation).toISOString(),
      ttl: Math.max(Math.floor((role.next_rotation - Date.now()) / 1000), 0),
      ...rotationFields(role),
    },
  };
}

function rotationFields(role: StaticRole): Record<string, unknown> {
  if (role.rotation_schedule !== '') return { rotation_schedule: role.rotation_schedule, rotation_window: role.rotation_window };
  return { rotation_period: role.rotation_period };
}

function nameOf(ctx: HandlerContext): string {
  const name = ctx.params.name ?? '';
  checkName('static role', name);
  return name;
}
