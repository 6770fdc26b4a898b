import { createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { BadRequestError, InternalError } from '../../errors.js';
import { getJson, type Storage } from '../../storage/storage.js';
import { newFileSink, parseFileSinkOptions } from './file.js';
import {
  formatRequestLine,
  formatResponseLine,
  hmacWithSalt,
  parseFormatOptions,
  type FormatOptions,
  type Hasher,
} from './format.js';
import { SocketSink, parseSocketSinkOptions } from './socket.js';
import type { LogicalRequest } from '../../framework/types.js';
import type {
  AuditDeviceConfig,
  AuditDeviceInfo,
  AuditRequestEntry,
  AuditResponseEntry,
  AuditSink,
} from './types.js';

export type {
  AuditAuth,
  AuditDeviceConfig,
  AuditDeviceInfo,
  AuditRequestEntry,
  AuditResponseEntry,
  AuditSink,
} from './types.js';

/** Device types that `enable` accepts. */
export const SUPPORTED_AUDIT_TYPES = ['file', 'socket'] as const;

/** Storage key of the device table, a JSON array of `StoredDevice`. */
const TABLE_KEY = 'table';
/** Storage prefix of the salts, one raw 32-byte value per device id. */
const SALT_PREFIX = 'salt/';
const SALT_BYTES = 32;

/** A device table entry as persisted. */
interface StoredDevice extends AuditDeviceInfo {
  /** Names the device's salt, so re-enabling a path gets a new salt, as Vault does. */
  id: string;
}

interface ActiveDevice {
  stored: StoredDevice;
  /** The salt as an HMAC key, imported once. */
  key: KeyObject;
  format: FormatOptions;
  sink: AuditSink;
}

/** What one device keeps between the request entry and the response entry of one request. */
interface RequestDeviceState {
  /** HMACs already computed for this request, by input, so the token is hashed once per device. */
  hashes: Map<string, string>;
  /** The value the sink's `append` of the request entry resolved with. */
  appendedAt?: number;
}

/**
 * Keeps the enabled audit devices and writes each request and response to all of them. Logging
 * fails closed: when devices are enabled and none records an entry, `logRequest` and
 * `logResponse` throw, so the pipeline responds with 500 and changes nothing.
 */
export class AuditBroker {
  private devices = new Map<string, ActiveDevice>();
  /** Per-request state, dropped with the request object. */
  private readonly states = new WeakMap<LogicalRequest, Map<ActiveDevice, RequestDeviceState>>();
  /** Serializes changes to the device table. */
  private tableLock: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: Storage,
    private readonly logger: Logger,
  ) {}

  /**
   * Reads the device table and opens every device (on unseal). A device that cannot be opened is
   * logged at error and stays enabled, so it still counts in the fail-closed check. Each of its
   * writes tries to open it again and fails until the cause is fixed.
   */
  load(): Promise<void> {
    return this.withTableLock(async () => {
      await this.closeDevices();
      const table = (await getJson<StoredDevice[]>(this.storage, TABLE_KEY)) ?? [];

      for (const stored of table) {
        const salt = await this.storage.get(SALT_PREFIX + stored.id);
        if (!salt) throw new InternalError(`loading audit device "${stored.path}": its salt is missing`);

        const device = { stored, key: createSecretKey(salt), ...buildDevice(stored.type, stored.options) };
        try {
          await device.sink.reopen();
        } catch (err) {
          this.logger.error({ audit_path: stored.path, err: errorMessage(err) }, 'audit device failed to open');
        }
        this.devices.set(stored.path, device);
      }
    });
  }

  /**
   * Enables a device at `path`. Throws a 400 when the path is in use, the type or an option is
   * invalid, or the destination cannot be opened.
   */
  async enable(path: string, config: AuditDeviceConfig): Promise<void> {
    const devicePath = normalizeDevicePath(path);
    return this.withTableLock(async () => {
      if (this.devices.has(devicePath)) {
        throw new BadRequestError(`path "${devicePath}" is already in use by an audit device`);
      }
      const options = { ...(config.options ?? {}) };
      const built = buildDevice(config.type, options);
      try {
        await built.sink.reopen();
      } catch (err) {
        await built.sink.close().catch(() => undefined);
        throw new BadRequestError(`failed to open audit device "${devicePath}": ${errorMessage(err)}`, { cause: err });
      }

      const stored: StoredDevice = {
        path: devicePath,
        type: config.type,
        description: config.description ?? '',
        options,
        local: config.local ?? false,
        id: randomUUID(),
      };
      const salt = randomBytes(SALT_BYTES);
      try {
        await this.persist([...this.storedTable(), stored], [{ op: 'put', key: SALT_PREFIX + stored.id, value: salt }]);
      } catch (err) {
        await built.sink.close().catch(() => undefined);
        throw err;
      }

      this.devices.set(devicePath, { stored, key: createSecretKey(salt), ...built });
      this.logger.info({ audit_path: devicePath, type: config.type }, 'audit device enabled');
    });
  }

  /** Disables the device at `path`; a path with no device is not an error, as in Vault. */
  async disable(path: string): Promise<void> {
    const devicePath = normalizeDevicePath(path);
    return this.withTableLock(async () => {
      const device = this.devices.get(devicePath);
      if (!device) return;

      const remaining = this.storedTable().filter((d) => d.path !== devicePath);
      await this.persist(remaining, [{ op: 'delete', key: SALT_PREFIX + device.stored.id }]);
      this.devices.delete(devicePath);
      await device.sink.close().catch((err) => {
        this.logger.error({ audit_path: devicePath, err: errorMessage(err) }, 'closing audit device failed');
      });
      this.logger.info({ audit_path: devicePath }, 'audit device disabled');
    });
  }

  /** Lists the enabled devices in path order. */
  list(): AuditDeviceInfo[] {
    return this.storedTable().map(({ path, type, description, options, local }) => ({
      path,
      type,
      description,
      options: { ...options },
      local,
    }));
  }

  /** Hashes `input` with the salt of the device at `path`; throws a 400 for an unknown path. */
  hash(path: string, input: string): string {
    const device = this.devices.get(normalizeDevicePath(path));
    if (!device) throw new BadRequestError(`no audit device is enabled at "${normalizeDevicePath(path)}"`);
    return hmacWithSalt(device.key, input);
  }

  /**
   * Writes a request entry to every device without waiting for it to become durable: the sync of
   * the response entry covers both lines. Throws when devices are enabled and none could write.
   * A crash before that sync may lose the line of a request whose response was never sent.
   */
  logRequest(entry: AuditRequestEntry): Promise<void> {
    if (this.devices.size === 0) return Promise.resolve();
    const time = new Date();
    const states = this.requestStates(entry.req);
    return this.broadcast('request', entry.req.id, async (device) => {
      const state = stateFor(states, device);
      const line = formatRequestLine(entry, device.format, memoizedHasher(device.key, state.hashes), time);
      state.appendedAt = await device.sink.append(line);
    });
  }

  /**
   * Writes a response entry to every device and waits until it is durable, together with the
   * request entry before it. Throws when devices are enabled and none succeeds.
   */
  logResponse(entry: AuditResponseEntry): Promise<void> {
    if (this.devices.size === 0) return Promise.resolve();
    const time = new Date();
    const states = this.requestStates(entry.req);
    return this.broadcast('response', entry.req.id, async (device) => {
      const state = stateFor(states, device);
      const line = formatResponseLine(entry, device.format, memoizedHasher(device.key, state.hashes), time);
      await device.sink.write(line, state.appendedAt);
    });
  }

  /** Reopens every device's destination, for log rotation on SIGHUP. Failures are logged. */
  async reload(): Promise<void> {
    await Promise.all(
      [...this.devices.values()].map((device) =>
        device.sink.reopen().catch((err) => {
          this.logger.error({ audit_path: device.stored.path, err: errorMessage(err) }, 'audit device failed to reopen');
        }),
      ),
    );
  }

  /** Closes every device after its pending writes (on seal); `load` opens them again. */
  close(): Promise<void> {
    return this.withTableLock(() => this.closeDevices());
  }

  /** Returns the sink of the device at `path`, for tests and diagnostics. */
  sinkAt(path: string): AuditSink | undefined {
    return this.devices.get(normalizeDevicePath(path))?.sink;
  }

  /** Returns the per-device state of a request, shared by its request and response entries. */
  private requestStates(req: LogicalRequest): Map<ActiveDevice, RequestDeviceState> {
    let states = this.states.get(req);
    if (!states) {
      states = new Map();
      this.states.set(req, states);
    }
    return states;
  }

  private async broadcast(
    kind: 'request' | 'response',
    requestId: string,
    writeEntry: (device: ActiveDevice) => Promise<void>,
  ): Promise<void> {
    const devices = [...this.devices.values()];
    if (devices.length === 0) return;

    const results = await Promise.allSettled(devices.map(writeEntry));
    let succeeded = 0;
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        succeeded++;
        return;
      }
      const auditPath = devices[i]!.stored.path;
      this.logger.error({ audit_path: auditPath, request_id: requestId, err: errorMessage(result.reason) }, `audit ${kind} write failed`);
    });
    if (succeeded === 0) {
      throw new InternalError(`no audit device recorded the ${kind} of request ${requestId}`);
    }
  }

  private storedTable(): StoredDevice[] {
    const table = [...this.devices.values()].map((device) => device.stored);
    // Paths are unique, so no two compare equal.
    return table.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  private async persist(table: StoredDevice[], saltOps: Parameters<Storage['transaction']>[0]): Promise<void> {
    const tableOp = { op: 'put' as const, key: TABLE_KEY, value: Buffer.from(JSON.stringify(table), 'utf8') };
    try {
      await this.storage.transaction([tableOp, ...saltOps]);
    } catch (err) {
      throw new InternalError(`persisting audit device table: ${errorMessage(err)}`, { cause: err });
    }
  }

  private async closeDevices(): Promise<void> {
    const devices = [...this.devices.values()];
    this.devices.clear();
    await Promise.all(
      devices.map((device) =>
        device.sink.close().catch((err) => {
          this.logger.error({ audit_path: device.stored.path, err: errorMessage(err) }, 'closing audit device failed');
        }),
      ),
    );
  }

  private withTableLock<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.tableLock.then(operation);
    this.tableLock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/** Builds a device's format options and sink from its type and options; throws a 400 if invalid. */
function buildDevice(type: string, options: Record<string, string>): { format: FormatOptions; sink: AuditSink } {
  for (const [name, value] of Object.entries(options)) {
    if (typeof value !== 'string') {
      throw new BadRequestError(`invalid value for option "${name}": expected a string`);
    }
  }
  const format = parseFormatOptions(options);
  switch (type) {
    case 'file':
      return { format, sink: newFileSink(parseFileSinkOptions(options)) };
    case 'socket':
      return { format, sink: new SocketSink(parseSocketSinkOptions(options)) };
    default:
      throw new BadRequestError(
        `unknown audit device type ${JSON.stringify(String(type).slice(0, 40))}; supported types: ${SUPPORTED_AUDIT_TYPES.join(', ')}`,
      );
  }
}

function stateFor(states: Map<ActiveDevice, RequestDeviceState>, device: ActiveDevice): RequestDeviceState {
  let state = states.get(device);
  if (!state) {
    state = { hashes: new Map() };
    states.set(device, state);
  }
  return state;
}

/** Returns a hasher that computes each input's HMAC once and then reuses it from `hashes`. */
function memoizedHasher(key: KeyObject, hashes: Map<string, string>): Hasher {
  return (input) => {
    let hashed = hashes.get(input);
    if (hashed === undefined) {
      hashed = hmacWithSalt(key, input);
      hashes.set(input, hashed);
    }
    return hashed;
  };
}

/** Strips leading slashes and adds the trailing slash Vault stores device paths with. */
export function normalizeDevicePath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') throw new BadRequestError('missing audit device path');
  return trimmed + '/';
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
