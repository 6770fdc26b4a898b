import { BadRequestError, CheckAndSetError } from '../../../errors.js';
import { isPlainObject } from '../../../framework/fields.js';
import type {
  FieldValues,
  HandlerContext,
  LogicalResponse,
  PathSpec,
} from '../../../framework/types.js';
import type { TxOp } from '../../../storage/physical.js';
import { checkSecretPath, isSecretPath, notFound } from '../listing.js';
import { applyMergePatch } from './merge-patch.js';
import {
  describeVersion,
  effectiveDeleteAfter,
  effectiveMaxVersions,
  formatTimestamp,
  isCasRequired,
  isVersionDeleted,
  newKeyMetadata,
  type KeyMetadata,
  type KvConfig,
} from './model.js';
import type { KvStore } from './store.js';
import { extractSubkeys } from './subkeys.js';

const VERSION_DESCRIPTION = 'Version to read. 0 or absent reads the current version.';

/** A version located for a read, with its data. */
interface FoundVersion {
  meta: KeyMetadata;
  version: number;
  data: Record<string, unknown>;
}

/** Declares `data/<path>` (read, write, patch, soft delete) and `subkeys/<path>`. */
export function dataPaths(store: KvStore): PathSpec[] {
  return [
    {
      pattern: 'data/(?<path>.*)',
      fields: {
        data: { type: 'map', description: 'The secret: a JSON object stored as the new version.' },
        options: { type: 'map', description: 'Write options, such as `cas` for check-and-set.' },
        version: { type: 'int', description: VERSION_DESCRIPTION },
      },
      existenceCheck: (ctx) => store.existsForRequest(ctx.req, ctx.params.path ?? ''),
      operations: {
        read: (ctx) => readData(store, ctx),
        update: (ctx) => writeData(store, ctx),
        patch: (ctx) => patchData(store, ctx),
        delete: (ctx) => deleteLatest(store, ctx),
      },
      help: 'Reads a version, writes a new version, patches the current one, or soft-deletes it.',
    },
    {
      pattern: 'subkeys/(?<path>.*)',
      fields: {
        version: { type: 'int', description: VERSION_DESCRIPTION },
        depth: { type: 'int', description: 'Deepest nesting level to return. 0 means no limit.' },
      },
      operations: { read: (ctx) => readSubkeys(store, ctx) },
      help: 'Returns the key structure of a secret version with every value replaced by null.',
    },
  ];
}

/**
 * Looks up the version that a read requests. Returns a plain 404 response when the key or version
 * does not exist, a 404 response with the version metadata when the version is deleted or
 * destroyed, and otherwise the version and its data.
 */
async function locateVersion(
  store: KvStore,
  ctx: HandlerContext,
  emptyMember: 'data' | 'subkeys',
): Promise<LogicalResponse | FoundVersion> {
  const path = ctx.params.path ?? '';
  const requested = readNonNegative(ctx.fields, 'version');
  if (!isSecretPath(path)) return notFound();

  const meta = await store.readMetadata(path);
  if (meta === null) return notFound();
  const version = requested === 0 ? meta.current_version : requested;
  const entry = meta.versions[String(version)];
  if (entry === undefined) return notFound();

  const deleted = isVersionDeleted(entry, Date.now());
  const stored = deleted ? null : await store.readVersion(path, version);
  if (stored === null) {
    return { status: 404, data: { [emptyMember]: null, metadata: describeVersion(meta, version) } };
  }
  return { meta, version, data: stored.data };
}

async function readData(store: KvStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const found = await locateVersion(store, ctx, 'data');
  if (!('meta' in found)) return found;
  return { data: { data: found.data, metadata: describeVersion(found.meta, found.version) } };
}

async function readSubkeys(store: KvStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const depth = readNonNegative(ctx.fields, 'depth');
  const found = await locateVersion(store, ctx, 'subkeys');
  if (!('meta' in found)) return found;
  const subkeys = extractSubkeys(found.data, depth);
  return { data: { subkeys, metadata: describeVersion(found.meta, found.version) } };
}

async function writeData(store: KvStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const path = ctx.params.path ?? '';
  checkSecretPath(path);
  const data = readSecretData(ctx.fields);
  const cas = readCas(ctx.fields);

  return store.withKeyLock(path, async () => {
    const config = await store.readConfig();
    const meta = await store.readMetadataForWrite(ctx.req, path);
    checkCas(meta, config, cas);
    return addVersion(store, path, meta, config, data);
  });
}

/** Applies a JSON merge patch to the current version and stores the result as a new version. */
async function patchData(store: KvStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const path = ctx.params.path ?? '';
  checkSecretPath(path);
  const patch = readSecretData(ctx.fields);
  const cas = readCas(ctx.fields);

  return store.withKeyLock(path, async () => {
    const config = await store.readConfig();
    const meta = await store.readMetadataForWrite(ctx.req, path);
    if (meta === null) return notFound();
    checkCas(meta, config, cas);

    // A patch needs a live current version to apply to.
    const entry = meta.versions[String(meta.current_version)];
    if (entry === undefined || isVersionDeleted(entry, Date.now())) return notFound();
    const current = await store.readVersion(path, meta.current_version);
    if (current === null) return notFound();

    return addVersion(store, path, meta, config, applyMergePatch(current.data, patch));
  });
}

/**
 * Stores `data` as the key's next version, or as version 1 of a new key when `previous` is null,
 * and prunes the versions beyond the key's maximum, all in one transaction. Returns the new
 * version's metadata in the shape of Vault's write response.
 */
async function addVersion(
  store: KvStore,
  path: string,
  previous: KeyMetadata | null,
  config: KvConfig,
  data: Record<string, unknown>,
): Promise<LogicalResponse> {
  const nowMs = Date.now();
  const now = formatTimestamp(nowMs);
  const meta: KeyMetadata = previous === null ? newKeyMetadata(now) : structuredClone(previous);
  const version = meta.current_version + 1;
  const deleteAfter = effectiveDeleteAfter(meta, config);

  meta.versions[String(version)] = {
    created_time: now,
    deletion_time: deleteAfter > 0 ? formatTimestamp(nowMs + deleteAfter * 1000) : '',
    destroyed: false,
  };
  meta.current_version = version;
  meta.updated_time = now;
  const ops: TxOp[] = [store.putVersionOp(path, version, { data })];

  // Remove every version at or below the cutoff, data and bookkeeping alike.
  const cutoff = version - effectiveMaxVersions(meta, config);
  if (cutoff > 0) {
    for (const name of Object.keys(meta.versions)) {
      if (Number(name) > cutoff) continue;
      delete meta.versions[name];
      ops.push(store.deleteVersionOp(path, Number(name)));
    }
    meta.oldest_version = cutoff + 1;
  }

  ops.push(store.putMetadataOp(path, meta));
  await store.commit(ops);
  return { data: describeVersion(meta, version) };
}

/** Marks the current version deleted. A missing key or an already deleted version is no error. */
async function deleteLatest(store: KvStore, ctx: HandlerContext): Promise<null> {
  const path = ctx.params.path ?? '';
  if (!isSecretPath(path)) return null;

  await store.withKeyLock(path, async () => {
    const meta = await store.readMetadata(path);
    if (meta === null) return;
    const entry = meta.versions[String(meta.current_version)];
    const nowMs = Date.now();
    if (entry === undefined || isVersionDeleted(entry, nowMs)) return;

    entry.deletion_time = formatTimestamp(nowMs);
    await store.commit([store.putMetadataOp(path, meta)]);
  });
  return null;
}

function readSecretData(fields: FieldValues): Record<string, unknown> {
  const data = fields.data;
  if (data === undefined) {
    throw new BadRequestError(
      'no data provided: put the secret in a "data" object, e.g. {"data": {"password": "..."}}',
    );
  }
  return data as Record<string, unknown>;
}

/** Reads `options.cas`: undefined when absent, else a whole number of at least 0. */
function readCas(fields: FieldValues): number | undefined {
  const options = fields.options;
  if (!isPlainObject(options)) return undefined;
  const raw = options.cas;
  if (raw === undefined || raw === null) return undefined;

  const cas = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof cas !== 'number' || !Number.isSafeInteger(cas) || cas < 0) {
    throw new BadRequestError(
      'invalid "options.cas": expected a whole number of at least 0 (0 writes only a new key)',
    );
  }
  return cas;
}

/** Enforces check-and-set: a required `cas` must be present, and a given `cas` must match. */
function checkCas(meta: KeyMetadata | null, config: KvConfig, cas: number | undefined): void {
  const current = meta?.current_version ?? 0;
  if (cas === undefined) {
    if (isCasRequired(meta, config)) {
      throw new BadRequestError(
        'check-and-set parameter required for this call: ' +
          `set "options.cas" to the current version (${current}), or to 0 for a new key`,
      );
    }
    return;
  }
  if (cas !== current) {
    throw new CheckAndSetError(
      'check-and-set parameter did not match the current version: ' +
        `"options.cas" is ${cas} but the current version is ${current}`,
    );
  }
}

function readNonNegative(fields: FieldValues, name: string): number {
  const value = (fields[name] as number | undefined) ?? 0;
  if (value < 0) {
    throw new BadRequestError(`invalid "${name}" ${value}: expected a whole number of at least 0`);
  }
  return value;
}
