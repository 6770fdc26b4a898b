import { BadRequestError } from '../../../errors.js';
import { isPlainObject } from '../../../framework/fields.js';
import type {
  FieldSpec,
  FieldValues,
  HandlerContext,
  LogicalResponse,
  PathSpec,
} from '../../../framework/types.js';
import { checkSecretPath, folderPrefix, isSecretPath, notFound, readPage } from '../listing.js';
import {
  formatGoDuration,
  formatTimestamp,
  newKeyMetadata,
  type KeyMetadata,
  type KvConfig,
} from './model.js';
import { applyMergePatch, setMember } from './merge-patch.js';
import type { KvStore } from './store.js';

// Vault's limits on custom_metadata, from path_metadata.go in hashicorp/vault-plugin-secrets-kv.
// Lengths are in UTF-8 bytes.
const MAX_CUSTOM_METADATA_KEYS = 64;
const MAX_CUSTOM_METADATA_KEY_BYTES = 128;
const MAX_CUSTOM_METADATA_VALUE_BYTES = 512;
const VALIDATION_FAILED = 'custom_metadata validation failed';

// Letters, marks, numbers, punctuation, symbols and the ASCII space: what Go counts as printable.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u;

const CAS_MANDATED_WARNING =
  '"cas_required" set to false, but the mount configuration requires check-and-set, ' +
  'so the mount setting applies';

const settingFields: Record<string, FieldSpec> = {
  max_versions: { type: 'int', description: 'Versions kept per key. 0 uses the default of 10.' },
  cas_required: { type: 'bool', description: 'Whether every write must carry options.cas.' },
  delete_version_after: {
    type: 'duration',
    description: 'Time after creation when a new version is deleted, e.g. "3h25m19s". 0s: never.',
  },
};

/** Declares `config` and `metadata/<path>`. */
export function metadataPaths(store: KvStore): PathSpec[] {
  return [
    {
      pattern: 'config',
      fields: settingFields,
      operations: {
        read: () => readConfig(store),
        update: (ctx) => writeConfig(store, ctx),
      },
      help: 'Reads or sets the mount-wide max_versions, cas_required and delete_version_after.',
    },
    {
      pattern: 'metadata(?:/(?<path>.*))?',
      fields: {
        ...settingFields,
        custom_metadata: { type: 'map', description: 'String map that describes the secret.' },
        after: { type: 'string', description: 'LIST only: return names that sort after this one.' },
        limit: { type: 'string', description: 'LIST only: return at most this many names.' },
      },
      existenceCheck: (ctx) => store.existsForRequest(ctx.req, ctx.params.path ?? ''),
      operations: {
        read: (ctx) => readMetadata(store, ctx),
        update: (ctx) => writeMetadata(store, ctx),
        patch: (ctx) => patchMetadata(store, ctx),
        delete: (ctx) => deleteMetadata(store, ctx),
        list: (ctx) => listMetadata(store, ctx),
      },
      help: "Reads, sets, patches or deletes a key's metadata and all its versions, or lists keys.",
    },
  ];
}

async function readConfig(store: KvStore): Promise<LogicalResponse> {
  const config = await store.readConfig();
  return {
    data: {
      cas_required: config.cas_required,
      delete_version_after: formatGoDuration(config.delete_version_after),
      max_versions: config.max_versions,
    },
  };
}

async function writeConfig(store: KvStore, ctx: HandlerContext): Promise<null> {
  const config = { ...(await store.readConfig()), ...readSettings(ctx.fields) };
  await store.writeConfig(config);
  return null;
}

async function readMetadata(store: KvStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const path = ctx.params.path ?? '';
  if (!isSecretPath(path)) return notFound();
  const meta = await store.readMetadata(path);
  if (meta === null) return notFound();

  return {
    data: {
      cas_required: meta.cas_required,
      created_time: meta.created_time,
      current_version: meta.current_version,
      custom_metadata: meta.custom_metadata,
      delete_version_after: formatGoDuration(meta.delete_version_after),
      max_versions: meta.max_versions,
      oldest_version: meta.oldest_version,
      updated_time: meta.updated_time,
      versions: meta.versions,
    },
  };
}

/**
 * Sets the given settings on a key, creating its metadata (with no versions) when absent. A write
 * with no settings changes nothing, as in Vault.
 */
async function writeMetadata(store: KvStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const path = ctx.params.path ?? '';
  checkSecretPath(path);
  const settings = readSettings(ctx.fields);
  const rawCustomMetadata = ctx.fields.custom_metadata;
  const customMetadata =
    rawCustomMetadata === undefined ? undefined : readCustomMetadata(rawCustomMetadata);
  if (Object.keys(settings).length === 0 && customMetadata === undefined) return null;

  return store.withKeyLock(path, async () => {
    const config = await store.readConfig();
    const meta =
      (await store.readMetadataForWrite(ctx.req, path)) ?? newKeyMetadata(formatTimestamp(Date.now()));
    Object.assign(meta, settings);
    if (customMetadata !== undefined) meta.custom_metadata = customMetadata;

    await store.commit([store.putMetadataOp(path, meta)]);
    return casWarning(settings, config);
  });
}

/** Merges settings into an existing key's metadata, with `custom_metadata` merged per RFC 7396. */
async function patchMetadata(store: KvStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const path = ctx.params.path ?? '';
  checkSecretPath(path);
  const settings = readSettings(ctx.fields);
  const customPatch = ctx.req.data.custom_metadata;
  if (customPatch !== undefined && customPatch !== null && !isPlainObject(customPatch)) {
    throw new BadRequestError('invalid value for "custom_metadata": expected an object of strings');
  }

  return store.withKeyLock(path, async () => {
    const config = await store.readConfig();
    const meta = await store.readMetadataForWrite(ctx.req, path);
    if (meta === null) return notFound();

    // A null member removes the setting, which restores the default (RFC 7396).
    for (const name of ['max_versions', 'cas_required', 'delete_version_after'] as const) {
      if (ctx.req.data[name] === null) {
        Object.assign(meta, { [name]: name === 'cas_required' ? false : 0 });
      }
    }
    Object.assign(meta, settings);
    if (customPatch === null) {
      meta.custom_metadata = null;
    } else if (customPatch !== undefined) {
      const merged = applyMergePatch(meta.custom_metadata ?? {}, customPatch);
      meta.custom_metadata = readCustomMetadata(merged);
    }

    await store.commit([store.putMetadataOp(path, meta)]);
    return casWarning(settings, config);
  });
}

/** Deletes a key's metadata and the data of every version in one transaction. */
async function deleteMetadata(store: KvStore, ctx: HandlerContext): Promise<null> {
  const path = ctx.params.path ?? '';
  if (!isSecretPath(path)) return null;

  await store.withKeyLock(path, async () => {
    const meta = await store.readMetadata(path);
    if (meta === null) return;
    const ops = Object.keys(meta.versions).map((name) => store.deleteVersionOp(path, Number(name)));
    ops.push(store.deleteMetadataOp(path));
    await store.commit(ops);
  });
  return null;
}

async function listMetadata(store: KvStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const page = readPage(ctx.req);
  const keys = await store.listKeys(folderPrefix(ctx.params.path ?? ''), page);
  if (keys.length === 0) return notFound();
  return { data: { keys } };
}

/** Returns the settings present in the request, checked for range. */
function readSettings(fields: FieldValues): Partial<KvConfig> {
  const settings: Partial<KvConfig> = {};
  if (fields.max_versions !== undefined) {
    const maxVersions = fields.max_versions as number;
    if (maxVersions < 0) {
      throw new BadRequestError(
        `invalid "max_versions" ${maxVersions}: expected a whole number of at least 0`,
      );
    }
    settings.max_versions = maxVersions;
  }
  if (fields.cas_required !== undefined) settings.cas_required = fields.cas_required as boolean;
  if (fields.delete_version_after !== undefined) {
    settings.delete_version_after = fields.delete_version_after as number;
  }
  return settings;
}

function casWarning(settings: Partial<KvConfig>, config: KvConfig): LogicalResponse | null {
  if (settings.cas_required === false && config.cas_required) {
    return { warnings: [CAS_MANDATED_WARNING] };
  }
  return null;
}

/**
 * Converts custom metadata to a string map and enforces Vault's limits: at most 64 keys, keys of 1
 * to 128 bytes, values of 1 to 512 bytes, and only printable characters. Numbers and booleans are
 * converted to strings, as Vault's decoder does.
 */
function readCustomMetadata(raw: unknown): Record<string, string> {
  if (!isPlainObject(raw)) {
    throw new BadRequestError('invalid value for "custom_metadata": expected an object of strings');
  }
  const entries = Object.entries(raw);
  if (entries.length > MAX_CUSTOM_METADATA_KEYS) {
    throw new BadRequestError(
      `${VALIDATION_FAILED}: at most ${MAX_CUSTOM_METADATA_KEYS} keys are allowed, ` +
        `got ${entries.length}`,
    );
  }

  const result: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      const shownKey = JSON.stringify(key.slice(0, 40));
      throw new BadRequestError(
        `${VALIDATION_FAILED}: the value for key ${shownKey} must be a string`,
      );
    }
    const text = String(value);
    checkCustomMetadataEntry(key, text);
    setMember(result, key, text);
  }
  return result;
}

function checkCustomMetadataEntry(key: string, value: string): void {
  const shownKey = JSON.stringify(key.slice(0, 40));
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes === 0 || keyBytes > MAX_CUSTOM_METADATA_KEY_BYTES) {
    throw new BadRequestError(
      `${VALIDATION_FAILED}: key ${shownKey} is ${keyBytes} bytes long ` +
        `but must be 1 to ${MAX_CUSTOM_METADATA_KEY_BYTES}`,
    );
  }
  const valueBytes = Buffer.byteLength(value, 'utf8');
  if (valueBytes === 0 || valueBytes > MAX_CUSTOM_METADATA_VALUE_BYTES) {
    throw new BadRequestError(
      `${VALIDATION_FAILED}: the value for key ${shownKey} is ${valueBytes} bytes long ` +
        `but must be 1 to ${MAX_CUSTOM_METADATA_VALUE_BYTES}`,
    );
  }
  if (!PRINTABLE.test(key)) {
    throw new BadRequestError(
      `${VALIDATION_FAILED}: key ${shownKey} contains unprintable characters`,
    );
  }
  if (!PRINTABLE.test(value)) {
    throw new BadRequestError(
      `${VALIDATION_FAILED}: the value for key ${shownKey} contains unprintable characters`,
    );
  }
}
