import { randomUUID } from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';

/** Per-mount TTL settings; 0 means the server's default applies. */
export interface MountConfig {
  defaultLeaseTtl: number;
  maxLeaseTtl: number;
  /** Auth mounts only: `service`, `batch`, `default-service` or `default-batch`. */
  tokenType?: string;
}

/** One entry of the mount table (secrets engines) or the auth table (auth methods). */
export interface MountEntry {
  /** With a trailing slash, relative to the table's root: `secret/`, or `token/` for `auth/token/`. */
  path: string;
  type: string;
  description: string;
  uuid: string;
  accessor: string;
  config: MountConfig;
  options: Record<string, string>;
  local: boolean;
  sealWrap: boolean;
}

/** The kind of table: secrets engines route under `/v1/PATH`, auth methods under `/v1/auth/PATH`. */
export type TableKind = 'mounts' | 'auth';

const RESERVED_MOUNT_PREFIXES = ['sys/', 'auth/', 'cubbyhole/', 'identity/'];

/**
 * A persisted table of mounts with longest-prefix lookup. The table is small and read on every
 * request, so it lives in memory and is written through to storage on each change.
 */
export class MountTable {
  private entries = new Map<string, MountEntry>();
  private sortedPaths: string[] = [];

  constructor(
    private readonly storage: Storage,
    readonly kind: TableKind,
  ) {}

  private get storageKey(): string {
    return `core/${this.kind}`;
  }

  /** Loads the table from storage; returns false when none was stored yet. */
  async load(): Promise<boolean> {
    const stored = await getJson<MountEntry[]>(this.storage, this.storageKey);
    this.entries = new Map((stored ?? []).map((entry) => [entry.path, entry]));
    this.reindex();
    return stored !== null;
  }

  list(): MountEntry[] {
    return this.sortedPaths.map((path) => this.entries.get(path)!);
  }

  get(path: string): MountEntry | undefined {
    return this.entries.get(normalizeMountPath(path));
  }

  /** Returns the mount whose path is the longest prefix of `path`. */
  match(path: string): MountEntry | undefined {
    for (const mountPath of this.sortedPaths) {
      if (path.startsWith(mountPath) || path === mountPath.slice(0, -1)) return this.entries.get(mountPath);
    }
    return undefined;
  }

  /** Adds a mount; rejects a path that overlaps an existing mount or a reserved prefix. */
  async add(input: Omit<MountEntry, 'uuid' | 'accessor'> & { uuid?: string; accessor?: string }): Promise<MountEntry> {
    const path = normalizeMountPath(input.path);
    this.checkFree(path, input.type);
    const entry: MountEntry = {
      ...input,
      path,
      uuid: input.uuid || randomUUID(),
      accessor: input.accessor || this.newAccessor(input.type),
    };
    this.entries.set(path, entry);
    await this.persist();
    return entry;
  }

  async remove(path: string): Promise<MountEntry> {
    const key = normalizeMountPath(path);
    const entry = this.entries.get(key);
    if (!entry) throw new BadRequestError(`no mount at "${key}"`);
    this.entries.delete(key);
    await this.persist();
    return entry;
  }

  /** Replaces an entry (tuning) or moves it to a new path (remount). */
  async update(oldPath: string, entry: MountEntry): Promise<void> {
    const key = normalizeMountPath(oldPath);
    const newPath = normalizeMountPath(entry.path);
    if (newPath !== key) this.checkFree(newPath, entry.type);
    this.entries.delete(key);
    this.entries.set(newPath, { ...entry, path: newPath });
    await this.persist();
  }

  /** Makes an accessor in Vault's form: `kv_1a2b3c4d`, `auth_token_1a2b3c4d`. */
  private newAccessor(type: string): string {
    const prefix = this.kind === 'auth' ? 'auth_' : '';
    return `${prefix}${type.replace(/-/g, '_')}_${randomUUID().slice(0, 8)}`;
  }

  private checkFree(path: string, type: string): void {
    if (this.kind === 'mounts' && type !== 'system' && type !== 'cubbyhole' && type !== 'identity') {
      for (const reserved of RESERVED_MOUNT_PREFIXES) {
        if (path.startsWith(reserved)) throw new BadRequestError(`cannot mount at "${path}": the prefix "${reserved}" is reserved`);
      }
    }
    for (const existing of this.entries.keys()) {
      if (existing.startsWith(path) || path.startsWith(existing)) {
        throw new BadRequestError(`path is already in use at ${existing}`);
      }
    }
  }

  private async persist(): Promise<void> {
    this.reindex();
    await putJson(this.storage, this.storageKey, [...this.entries.values()]);
  }

  private reindex(): void {
    this.sortedPaths = [...this.entries.keys()].sort((a, b) => b.length - a.length);
  }
}

/** Validates a mount path and gives it exactly one trailing slash. */
export function normalizeMountPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '' || trimmed.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new BadRequestError(`invalid mount path "${path}": use segments of letters, digits, "-", "_" or "."`);
  }
  if (!/^[\w.\-/]+$/.test(trimmed)) {
    throw new BadRequestError(`invalid mount path "${path}": use segments of letters, digits, "-", "_" or "."`);
  }
  return `${trimmed}/`;
}
