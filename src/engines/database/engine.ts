import { BadRequestError } from '../../errors.js';
import type { BackendContext } from '../../framework/types.js';
import { DEFAULT_PASSWORD_POLICY, generatePassword } from '../../core/password-policy/policy.js';
import { ConnectionRegistry, KeyedLock } from './connections.js';
import { pluginFor, readConfig, type DatabaseConfig } from './model.js';
import { checkPasswordQuotable, type DatabasePlugin, type PluginDescriptor } from './plugin.js';

/** The state the database engine's paths, lease callbacks and rotation scheduler share. */
export class DatabaseEngine {
  readonly connections: ConnectionRegistry;
  /** Serializes work on one config entry (`config:NAME`) or static role (`static:NAME`). */
  readonly locks = new KeyedLock();

  constructor(readonly backend: BackendContext) {
    this.connections = new ConnectionRegistry(backend.logger);
  }

  /** Reads a config entry and returns its open plugin; throws a 400 when the entry is missing. */
  async plugin(dbName: string): Promise<{ config: DatabaseConfig; plugin: DatabasePlugin; descriptor: PluginDescriptor }> {
    const config = await readConfig(this.backend.storage, dbName);
    if (config === null) throw new BadRequestError(`database connection ${JSON.stringify(dbName)} not found`);
    return { config, plugin: await this.connections.get(dbName, config), descriptor: pluginFor(config.plugin_name) };
  }

  /**
   * Generates a password with the config's `password_policy`, or Vault's default policy when it
   * names none, and checks that the plugin's statements can quote it.
   */
  async generatePassword(config: DatabaseConfig): Promise<string> {
    const descriptor = pluginFor(config.plugin_name);
    let password: string;
    if (config.password_policy === '') {
      password = generatePassword(DEFAULT_PASSWORD_POLICY);
    } else {
      const system = this.backend.system;
      if (!system.generatePasswordFromPolicy) {
        throw new BadRequestError('password policies are not available on this server; remove "password_policy" from the config');
      }
      password = await system.generatePasswordFromPolicy(config.password_policy);
    }
    checkPasswordQuotable(password, descriptor);
    return password;
  }
}
