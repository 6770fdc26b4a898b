import { BadRequestError } from '../../errors.js';
import type { HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { readPage } from '../../framework/paging.js';
import { optionalBase64 } from './ciphertext.js';
import { KEY_NAME, type TransitEngine } from './engine.js';
import { HMAC_KEY_SIZE, parseKeyType } from './key-types.js';
import { describeKey } from './policy.js';
import { checkAutoRotatePeriod } from './store.js';

/** Paths `keys`, `keys/NAME`, `keys/NAME/config`, `keys/NAME/rotate` and `keys/NAME/trim`. */
export function keyPaths(engine: TransitEngine): PathSpec[] {
  const { store } = engine;
  return [
    {
      pattern: 'keys/?',
      operations: { list: (ctx) => listKeys(engine, ctx) },
      help: 'Lists key names; takes after and limit for paging.',
    },
    {
      pattern: `keys/${KEY_NAME}`,
      fields: {
        type: { type: 'string', description: 'Key type; see the README for the list.', default: 'aes256-gcm96' },
        derived: { type: 'bool', description: 'Derive a key per request from a context.', default: false },
        convergent_encryption: { type: 'bool', description: 'Same plaintext and context give the same ciphertext; requires derived.', default: false },
        exportable: { type: 'bool', description: 'Allow export of the key material; cannot be unset.', default: false },
        allow_plaintext_backup: { type: 'bool', description: 'Allow plaintext backups; cannot be unset.', default: false },
        auto_rotate_period: { type: 'duration', description: 'Rotate automatically this often; 0 disables, otherwise at least 1h.', default: 0 },
        key_size: { type: 'int', description: 'Key size in bytes of hmac keys (32 to 512).', default: 0 },
        context: { type: 'string', description: 'Base64 context; on read, selects the public key of a derived ed25519 key.' },
      },
      existenceCheck: async (ctx) => (await store.load(ctx.params.name)) !== null,
      operations: {
        update: (ctx) => createKey(engine, ctx),
        read: (ctx) => readKey(engine, ctx),
        delete: (ctx) => deleteKey(engine, ctx),
      },
      help: 'Creates (write), reads or deletes a named key.',
    },
    {
      pattern: `keys/${KEY_NAME}/config`,
      fields: {
        min_decryption_version: { type: 'int', description: 'Oldest version that may decrypt or verify.' },
        min_encryption_version: { type: 'int', description: 'Oldest version that may encrypt or sign; 0 means the latest.' },
        deletion_allowed: { type: 'bool', description: 'Allow deleting the key.' },
        exportable: { type: 'bool', description: 'Allow export of the key material; cannot be unset.' },
        allow_plaintext_backup: { type: 'bool', description: 'Allow plaintext backups; cannot be unset.' },
        auto_rotate_period: { type: 'duration', description: 'Rotate automatically this often; 0 disables, otherwise at least 1h.' },
      },
      operations: { update: (ctx) => configureKey(engine, ctx) },
      help: "Changes a key's version limits, deletion, export, backup and rotation settings.",
    },
    {
      pattern: `keys/${KEY_NAME}/rotate`,
      operations: {
        update: async (ctx) => ({ data: describeKey(await store.rotate(ctx.params.name)) }),
      },
      help: 'Adds a new version to the key; new encryptions use it.',
    },
    {
      pattern: `keys/${KEY_NAME}/trim`,
      fields: {
        min_available_version: { type: 'int', description: 'Versions below this are deleted for good.', required: true },
      },
      operations: { update: (ctx) => trimKey(engine, ctx) },
      help: 'Deletes key versions below min_available_version.',
    },
  ];
}

async function listKeys(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const keys = await engine.store.list(readPage(ctx.req));
  return { data: { keys } };
}

async function createKey(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const { fields } = ctx;
  const type = parseKeyType(fields.type as string);
  const keySize = fields.key_size as number;
  if (keySize !== 0 && type !== 'hmac') throw new BadRequestError('key_size applies to hmac keys only');

  const { key, created } = await engine.store.create(ctx.params.name, {
    type,
    derived: fields.derived as boolean,
    convergent_encryption: fields.convergent_encryption as boolean,
    exportable: fields.exportable as boolean,
    allow_plaintext_backup: fields.allow_plaintext_backup as boolean,
    auto_rotate_period: fields.auto_rotate_period as number,
    key_size: keySize === 0 ? HMAC_KEY_SIZE.default : keySize,
  });
  const response: LogicalResponse = { data: describeKey(key) };
  if (!created) response.warnings = [`key "${key.name}" already exists; its settings were not changed`];
  return response;
}

async function readKey(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const key = await engine.store.load(ctx.params.name);
  if (!key) return null;
  const context = optionalBase64(ctx.fields.context, 'context');
  return { data: describeKey(key, context) };
}

async function deleteKey(engine: TransitEngine, ctx: HandlerContext): Promise<null> {
  const name = ctx.params.name;
  await engine.store.withLock(name, async () => {
    const policy = await engine.store.readStored(name);
    if (!policy) throw new BadRequestError(`could not delete key "${name}": not found`);
    if (!policy.deletion_allowed) {
      throw new BadRequestError(`deletion is not allowed for key "${name}"; set deletion_allowed with keys/${name}/config first`);
    }
    await engine.store.remove(name);
  });
  engine.logger.info({ key: name }, 'transit key deleted');
  return null;
}

async function configureKey(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const { fields } = ctx;
  const warnings: string[] = [];
  const key = await engine.store.update(ctx.params.name, (policy) => {
    if (fields.min_decryption_version !== undefined) {
      let version = fields.min_decryption_version as number;
      if (version < 0) throw new BadRequestError('min_decryption_version cannot be negative');
      if (version === 0) {
        version = 1;
        warnings.push('key versions start at 1, so min_decryption_version was set to 1');
      }
      if (version > policy.latest_version) {
        throw new BadRequestError(`min_decryption_version ${version} is above the latest version ${policy.latest_version}`);
      }
      if (version < policy.min_available_version) {
        throw new BadRequestError(`min_decryption_version ${version} is below min_available_version ${policy.min_available_version}; those versions were trimmed`);
      }
      policy.min_decryption_version = version;
    }
    if (fields.min_encryption_version !== undefined) {
      const version = fields.min_encryption_version as number;
      if (version < 0) throw new BadRequestError('min_encryption_version cannot be negative');
      if (version > policy.latest_version) {
        throw new BadRequestError(`min_encryption_version ${version} is above the latest version ${policy.latest_version}`);
      }
      policy.min_encryption_version = version;
    }
    if (policy.min_encryption_version > 0 && policy.min_encryption_version < policy.min_decryption_version) {
      throw new BadRequestError('min_encryption_version must be 0 or at least min_decryption_version');
    }
    if (fields.deletion_allowed !== undefined) policy.deletion_allowed = fields.deletion_allowed as boolean;
    if (fields.exportable !== undefined) {
      if (policy.exportable && fields.exportable === false) throw new BadRequestError('exportable cannot be disabled once set');
      policy.exportable = fields.exportable as boolean;
    }
    if (fields.allow_plaintext_backup !== undefined) {
      if (policy.allow_plaintext_backup && fields.allow_plaintext_backup === false) {
        throw new BadRequestError('allow_plaintext_backup cannot be disabled once set');
      }
      policy.allow_plaintext_backup = fields.allow_plaintext_backup as boolean;
    }
    if (fields.auto_rotate_period !== undefined) {
      checkAutoRotatePeriod(fields.auto_rotate_period as number);
      policy.auto_rotate_period = fields.auto_rotate_period as number;
    }
  });
  return { data: describeKey(key), ...(warnings.length ? { warnings } : {}) };
}

async function trimKey(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const target = ctx.fields.min_available_version as number;
  const key = await engine.store.update(ctx.params.name, (policy) => {
    if (target <= 0) throw new BadRequestError('min_available_version must be 1 or more');
    if (policy.min_encryption_version === 0) {
      throw new BadRequestError('set min_encryption_version above 0 before trimming, so the latest version is never trimmed');
    }
    const ceiling = Math.min(policy.min_decryption_version, policy.min_encryption_version);
    if (target > ceiling) {
      throw new BadRequestError(`min_available_version ${target} is above the lesser of min_decryption_version and min_encryption_version (${ceiling})`);
    }
    if (target < policy.min_available_version) {
      throw new BadRequestError(`min_available_version ${target} is below the current ${policy.min_available_version}; trimmed versions cannot return`);
    }
    for (const version of Object.keys(policy.versions)) {
      if (Number(version) < target) delete policy.versions[version];
    }
    policy.min_available_version = target;
  });
  return { data: describeKey(key) };
}
