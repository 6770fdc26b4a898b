import { BadRequestError } from '../../errors.js';
import type { LogicalRequest, LogicalResponse } from '../../framework/types.js';
import type { ListOptions } from '../../storage/physical.js';
import type { Storage } from '../../storage/storage.js';

export { readPage } from '../../framework/paging.js';

/**
 * Lists the immediate children of `prefix` in storage: names of entries, and folders with a
 * trailing `/`. An empty result is Vault's 404 with no data.
 */
export async function listChildren(
  storage: Storage,
  prefix: string,
  page: ListOptions,
): Promise<LogicalResponse> {
  const keys = await storage.list(prefix, page);
  if (keys.length === 0) return notFound();
  return { data: { keys } };
}

/** Returns Vault's "nothing here" response, which the HTTP layer sends as 404 `{"errors": []}`. */
export function notFound(): LogicalResponse {
  return { status: 404, data: null };
}

/**
 * Returns a folder path as a storage prefix: empty for the mount root, otherwise with one trailing
 * `/`, so `LIST foo` and `LIST foo/` both list the children of `foo/`.
 */
export function folderPrefix(path: string): string {
  if (path === '' || path.endsWith('/')) return path;
  return `${path}/`;
}

/**
 * Checks the name of a secret to write: it must be non-empty and must not end in `/`, because a
 * trailing `/` marks a folder in listings.
 */
export function checkSecretPath(path: string): void {
  if (path === '') {
    throw new BadRequestError('missing path: give the secret name after the mount path');
  }
  if (path.endsWith('/')) {
    throw new BadRequestError(
      `invalid path "${path}": a secret name cannot end in "/", which marks a folder`,
    );
  }
}

/** True when the path can name a secret, so that a read of anything else is a plain 404. */
export function isSecretPath(path: string): boolean {
  return path !== '' && !path.endsWith('/');
}
