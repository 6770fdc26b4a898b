import { BadRequestError } from '../../../errors.js';
import type { HandlerContext, PathSpec } from '../../../framework/types.js';
import type { TxOp } from '../../../storage/physical.js';
import { checkSecretPath } from '../listing.js';
import {
  formatTimestamp,
  isVersionDeleted,
  type KeyMetadata,
  type VersionMetadata,
} from './model.js';
import type { KvStore } from './store.js';

/** Changes one version's bookkeeping; returns true when it changed anything. */
type VersionChange = (entry: VersionMetadata, nowMs: number) => boolean;

const versionsField = {
  versions: {
    type: 'any' as const,
    description: 'Version numbers, as a list such as [1, 2] or a string such as "1,2".',
  },
};

/** Declares `delete/<path>`, `undelete/<path>` and `destroy/<path>` for listed versions. */
export function versionPaths(store: KvStore): PathSpec[] {
  return [
    {
      pattern: 'delete/(?<path>.*)',
      fields: versionsField,
      operations: { update: (ctx) => changeVersions(store, ctx, softDelete) },
      help: 'Marks versions deleted. Their data is kept and undelete restores them.',
    },
    {
      pattern: 'undelete/(?<path>.*)',
      fields: versionsField,
      operations: { update: (ctx) => changeVersions(store, ctx, undelete) },
      help: 'Restores soft-deleted versions so reads return them again.',
    },
    {
      pattern: 'destroy/(?<path>.*)',
      fields: versionsField,
      operations: { update: (ctx) => changeVersions(store, ctx, destroy) },
      help: 'Removes the data of versions for good. Their metadata stays, marked destroyed.',
    },
  ];
}

function softDelete(entry: VersionMetadata, nowMs: number): boolean {
  if (isVersionDeleted(entry, nowMs)) return false;
  entry.deletion_time = formatTimestamp(nowMs);
  return true;
}

function undelete(entry: VersionMetadata): boolean {
  if (entry.destroyed || entry.deletion_time === '') return false;
  entry.deletion_time = '';
  return true;
}

function destroy(entry: VersionMetadata): boolean {
  if (entry.destroyed) return false;
  entry.destroyed = true;
  return true;
}

/**
 * Applies `change` to each listed version of the key in one transaction. Versions that do not exist
 * are skipped, as Vault does; destroying a version also deletes its stored data.
 */
async function changeVersions(
  store: KvStore,
  ctx: HandlerContext,
  change: VersionChange,
): Promise<null> {
  const path = ctx.params.path ?? '';
  checkSecretPath(path);
  const versions = parseVersions(ctx.fields.versions);

  await store.withKeyLock(path, async () => {
    const meta: KeyMetadata | null = await store.readMetadata(path);
    if (meta === null) return;

    const nowMs = Date.now();
    const ops: TxOp[] = [];
    let changed = false;
    for (const version of versions) {
      const entry = meta.versions[String(version)];
      if (entry === undefined || !change(entry, nowMs)) continue;
      changed = true;
      if (change === destroy) ops.push(store.deleteVersionOp(path, version));
    }
    if (!changed) return;

    ops.push(store.putMetadataOp(path, meta));
    await store.commit(ops);
  });
  return null;
}

/**
 * Parses version numbers given as a list of numbers or numeric strings, a comma-separated string,
 * or a single number. Each must be a whole number of at least 1.
 */
export function parseVersions(raw: unknown): number[] {
  let items: unknown[];
  if (typeof raw === 'string') items = raw.split(',');
  else if (Array.isArray(raw)) items = raw;
  else items = raw === undefined || raw === null ? [] : [raw];

  const versions: number[] = [];
  for (const item of items) {
    const text = typeof item === 'string' ? item.trim() : item;
    if (text === '') continue;
    const version = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : text;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
      const shownItem = String(JSON.stringify(item)).slice(0, 40);
      throw new BadRequestError(
        `invalid version ${shownItem} in "versions": expected whole numbers of at least 1`,
      );
    }
    versions.push(version);
  }
  if (versions.length === 0) {
    throw new BadRequestError(
      'no version number provided: give "versions" as a list such as [1, 2]',
    );
  }
  return [...new Set(versions)];
}
