import { BadRequestError } from '../../errors.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import type { ConnectionDetails, PluginDescriptor } from './plugin.js';
import { mysqlDescriptor, mysqlLegacyDescriptor } from './plugins/mysql.js';
import { postgresqlDescriptor } from './plugins/postgresql.js';
import { redisDescriptor } from './plugins/redis.js';

/** Plugins by Vault's plugin names; the MySQL aliases differ only in their username limits. */
export const PLUGINS: Record<string, PluginDescriptor> = {
  'postgresql-database-plugin': postgresqlDescriptor,
  'mysql-database-plugin': mysqlDescriptor,
  'mysql-aurora-database-plugin': mysqlLegacyDescriptor,
  'mysql-rds-database-plugin': mysqlLegacyDescriptor,
  'mysql-legacy-database-plugin': mysqlLegacyDescriptor,
  'redis-database-plugin': redisDescriptor,
};

/** Returns the plugin of a name, or throws a 400 that lists the supported names. */
export function pluginFor(name: string): PluginDescriptor {
  const descriptor = PLUGINS[name];
  if (!descriptor) {
    throw new BadRequestError(`unsupported plugin_name ${JSON.stringify(name.slice(0, 100))}; supported: ${Object.keys(PLUGINS).join(', ')}`);
  }
  return descriptor;
}

/** A `database/config/NAME` entry as stored (encrypted by the barrier). */
export interface DatabaseConfig {
  plugin_name: string;
  allowed_roles: string[];
  verify_connection: boolean;
  password_policy: string;
  root_rotation_statements: string[];
  /** Plugin connection fields, including the root password. */
  connection_details: ConnectionDetails;
}

/** A `database/roles/NAME` entry: how dynamic users are created and removed. */
export interface DynamicRole {
  db_name: string;
  creation_statements: string[];
  revocation_statements: string[];
  rollback_statements: string[];
  renew_statements: string[];
  /** Seconds; 0 means the mount's default. */
  default_ttl: number;
  /** Seconds; 0 means the mount's maximum. */
  max_ttl: number;
  credential_type: string;
  credential_config: Record<string, unknown>;
}

/** A `database/static-roles/NAME` entry with its current credential and rotation state. */
export interface StaticRole {
  db_name: string;
  username: string;
  /** Seconds between rotations; 0 when `rotation_schedule` is used. */
  rotation_period: number;
  /** A cron expression (UTC); empty when `rotation_period` is used. */
  rotation_schedule: string;
  /** Seconds after a scheduled time during which a failed rotation is retried; 0 means until it succeeds. */
  rotation_window: number;
  rotation_statements: string[];
  credential_type: string;
  password: string;
  /** Milliseconds since the epoch. */
  last_vault_rotation: number;
  /** Milliseconds since the epoch: when the scheduler rotates next (or retries a failed rotation). */
  next_rotation: number;
  /** Milliseconds since the epoch: the scheduled time the current attempts belong to. */
  scheduled_rotation: number;
  /**
   * A password sent to the database whose rotation has not been confirmed in storage yet. It is
   * written before the database changes, so a crash in between is finished by the next attempt.
   */
  pending_password?: string;
  /** The last rotation failure, without secrets; cleared by the next success. */
  last_error?: string;
  /** Failed attempts since the last success, for the retry backoff. */
  failed_attempts: number;
}

const CONFIG_PREFIX = 'config/';
const ROLE_PREFIX = 'role/';
const STATIC_ROLE_PREFIX = 'static-role/';

export const storageKeys = {
  config: (name: string) => CONFIG_PREFIX + name,
  role: (name: string) => ROLE_PREFIX + name,
  staticRole: (name: string) => STATIC_ROLE_PREFIX + name,
  configPrefix: CONFIG_PREFIX,
  rolePrefix: ROLE_PREFIX,
  staticRolePrefix: STATIC_ROLE_PREFIX,
};

export function readConfig(storage: Storage, name: string): Promise<DatabaseConfig | null> {
  return getJson<DatabaseConfig>(storage, storageKeys.config(name));
}

export function writeConfig(storage: Storage, name: string, config: DatabaseConfig): Promise<void> {
  return putJson(storage, storageKeys.config(name), config);
}

export function readRole(storage: Storage, name: string): Promise<DynamicRole | null> {
  return getJson<DynamicRole>(storage, storageKeys.role(name));
}

export function readStaticRole(storage: Storage, name: string): Promise<StaticRole | null> {
  return getJson<StaticRole>(storage, storageKeys.staticRole(name));
}

export function writeStaticRole(storage: Storage, name: string, role: StaticRole): Promise<void> {
  return putJson(storage, storageKeys.staticRole(name), role);
}

/**
 * Reads the config a role names and checks that it allows the role. `allowed_roles` entries are
 * names or globs where `*` matches any run of characters. Throws a 400 that names what to fix.
 */
export async function configForRole(storage: Storage, dbName: string, roleName: string): Promise<DatabaseConfig> {
  const config = dbName === '' ? null : await readConfig(storage, dbName);
  if (config === null) {
    throw new BadRequestError(`database connection ${JSON.stringify(dbName)} not found; write database/config/${dbName || 'NAME'} first or fix the role's db_name`);
  }
  if (!isRoleAllowed(config.allowed_roles, roleName)) {
    throw new BadRequestError(`role ${JSON.stringify(roleName)} is not in the allowed_roles of database connection ${JSON.stringify(dbName)}`);
  }
  return config;
}

export function isRoleAllowed(allowedRoles: string[], roleName: string): boolean {
  return allowedRoles.some((pattern) => {
    const source = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    return new RegExp(`^${source}$`, 's').test(roleName);
  });
}

/** Validates a config, role or static role name taken from the path. */
export function checkName(kind: string, name: string): void {
  if (name === '' || name.length > 256 || /[/\p{C}]/u.test(name)) {
    throw new BadRequestError(`invalid ${kind} name ${JSON.stringify(name.slice(0, 256))}: use 1 to 256 printable characters without "/"`);
  }
}
