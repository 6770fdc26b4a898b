import { ApiError, type CofferClient } from '../client.js';
import { CliError, EXIT_ERROR } from '../errors.js';

/** The KV mount that contains a path, as `sys/internal/ui/mounts/PATH` reports it. */
export interface KvMount {
  /** Mount path with a trailing slash, e.g. `secret/`; empty when the server could not tell. */
  mountPath: string;
  version: 1 | 2;
}

/** The mount and the path that a `kv` command acts on. */
export interface KvTarget {
  mount: KvMount;
  /** The path as given, joined to `-mount` when that flag is set, e.g. `secret/foo`. */
  fullPath: string;
  /** Whether `-mount` was given; Vault's CLI then prints the API path above the output. */
  mountFlagUsed: boolean;
}

/** Joins path parts with single slashes, dropping empty parts and outer slashes. */
export function joinPath(...parts: string[]): string {
  return parts
    .flatMap((part) => part.split('/'))
    .filter((segment) => segment !== '')
    .join('/');
}

/**
 * Inserts a KV v2 API segment (`data`, `metadata`, `delete`, `undelete`, `destroy`) after the
 * mount: `secret/foo` in mount `secret/` becomes `secret/data/foo`. A path equal to the mount
 * becomes `secret/data`. A path that already contains the segment gets it again, as with Vault's
 * CLI, because a secret may itself be named `data/...`.
 */
export function addKvPrefix(path: string, mountPath: string, segment: string): string {
  const mount = joinPath(mountPath);
  const clean = joinPath(path);
  if (clean === mount) return joinPath(mount, segment);
  if (mount !== '' && clean.startsWith(`${mount}/`)) {
    return joinPath(mount, segment, clean.slice(mount.length + 1));
  }
  // The path does not start with the mount the server reported; put the segment first.
  return joinPath(mount, segment, clean);
}

/**
 * Asks the server which mount contains `path` and its KV version, as Vault's CLI does before each
 * `kv` command. A server without the endpoint (404) is treated as KV version 1.
 */
export async function detectKvMount(client: CofferClient, path: string): Promise<KvMount> {
  let body;
  try {
    // The version check itself must not be wrapped, or its response would be a wrapping token.
    body = await client.request('GET', `sys/internal/ui/mounts/${joinPath(path)}`, { wrap: false });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return { mountPath: '', version: 1 };
    if (err instanceof ApiError && err.status === 403) {
      throw new CliError(
        `Error checking the KV version of ${path}: permission denied (403). The token needs a ` +
          `policy that grants a capability on "${joinPath(path)}"`,
        EXIT_ERROR,
      );
    }
    throw err;
  }
  const data = body?.data ?? {};
  const mountPath = typeof data.path === 'string' ? data.path : '';
  const options = (data.options ?? {}) as Record<string, unknown>;
  const version = String(options.version ?? '1') === '2' ? 2 : 1;
  return { mountPath, version };
}

/** Resolves where a `kv` command works from its path argument and the `-mount` flag. */
export async function resolveKvTarget(
  client: CofferClient,
  pathArg: string,
  mountFlag: string | undefined,
): Promise<KvTarget> {
  if (mountFlag !== undefined && mountFlag !== '') {
    const mount = await detectKvMount(client, mountFlag);
    // The mount flag names the mount itself, so trust it when the server reports nothing.
    const mountPath = mount.mountPath !== '' ? mount.mountPath : `${joinPath(mountFlag)}/`;
    return { mount: { ...mount, mountPath }, fullPath: joinPath(mountPath, pathArg), mountFlagUsed: true };
  }
  const mount = await detectKvMount(client, pathArg);
  return { mount, fullPath: joinPath(pathArg), mountFlagUsed: false };
}

/** Returns the API path of a target: the plain path for KV v1, or with `segment` inserted for v2. */
export function kvApiPath(target: KvTarget, segment: string): string {
  if (target.mount.version === 1) return target.fullPath;
  return addKvPrefix(target.fullPath, target.mount.mountPath, segment);
}
