import { constants, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPair, privateDecrypt, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { getJson, putJson } from '../../storage/storage.js';
import { decodeBase64 } from './ciphertext.js';
import { KEY_NAME, type TransitEngine } from './engine.js';
import { HMAC_KEY_SIZE, parseKeyType } from './key-types.js';
import { importedPublicVersion, importedVersion, type KeyVersion } from './material.js';
import { describeKey } from './policy.js';
import { addVersion } from './store.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Storage key of the mount's RSA-4096 wrapping key (PKCS#8 PEM). */
const WRAPPING_KEY = 'config/wrapping_key';
/** Lock name for creating the wrapping key; not a valid key name, so it never meets a key's lock. */
const WRAPPING_LOCK = '/wrapping_key';
/** Length of the RSA-OAEP-wrapped ephemeral AES key at the start of an import ciphertext. */
const WRAPPED_AES_KEY_BYTES = 512;
/** Alternative initial value of AES key wrap with padding (RFC 5649 section 3). */
const KWP_IV = Buffer.from('a65959a6', 'hex');

const OAEP_HASHES: Record<string, string> = { SHA1: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };

const MATERIAL_FIELDS: Record<string, FieldSpec> = {
  ciphertext: { type: 'string', description: 'Base64: the RSA-OAEP-wrapped AES key (512 bytes), then the AES-KWP-wrapped key.' },
  hash_function: { type: 'string', description: 'Hash of the RSA-OAEP step: SHA1, SHA224, SHA256, SHA384 or SHA512.', default: 'SHA256' },
  public_key: { type: 'string', description: 'PEM public key, to import an asymmetric key without its private key.' },
};

/** Paths `wrapping_key`, `keys/NAME/import` and `keys/NAME/import_version`. */
export function importPaths(engine: TransitEngine): PathSpec[] {
  return [
    {
      pattern: 'wrapping_key',
      operations: {
        read: async () => ({ data: { public_key: createPublicKey(await wrappingKey(engine)).export({ format: 'pem', type: 'spki' }).toString() } }),
      },
      help: 'Returns the RSA-4096 public key that wraps keys for import.',
    },
    {
      pattern: `keys/${KEY_NAME}/import`,
      fields: {
        ...MATERIAL_FIELDS,
        type: { type: 'string', description: 'Type of the imported key.', default: 'aes256-gcm96' },
        allow_rotation: { type: 'bool', description: 'Allow rotating the key here (which ends imports).', default: false },
        derived: { type: 'bool', description: 'Derive a key per request from a context.', default: false },
        context: { type: 'string', description: 'Accepted for compatibility; derivation takes the context of each request.' },
        exportable: { type: 'bool', description: 'Allow export of the key material.', default: false },
        allow_plaintext_backup: { type: 'bool', description: 'Allow plaintext backups.', default: false },
        auto_rotate_period: { type: 'duration', description: 'Rotate automatically this often (needs allow_rotation).', default: 0 },
        convergent_encryption: { type: 'bool', description: 'Not supported for imported keys.', default: false },
      },
      operations: { update: (ctx) => importKey(engine, ctx) },
      help: 'Creates a key from wrapped key material.',
    },
    {
      pattern: `keys/${KEY_NAME}/import_version`,
      fields: { ...MATERIAL_FIELDS, version: { type: 'int', description: 'Public-only version to complete with its private key.' } },
      operations: { update: (ctx) => importVersion(engine, ctx) },
      help: 'Adds a version to an imported key from wrapped key material.',
    },
  ];
}

/** Returns the mount's wrapping key, generating and storing it on first use. */
async function wrappingKey(engine: TransitEngine): Promise<KeyObject> {
  return engine.store.withLock(WRAPPING_LOCK, async () => {
    const stored = await getJson<{ private_key: string }>(engine.storage, WRAPPING_KEY);
    if (stored) return createPrivateKey(stored.private_key);

    const pair = await generateKeyPairAsync('rsa', { modulusLength: 4096 });
    await putJson(engine.storage, WRAPPING_KEY, { private_key: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
    engine.logger.info('transit wrapping key generated');
    return pair.privateKey;
  });
}

/**
 * Unwraps import material in the layout of Vault's BYOK import. The first 512 bytes are an
 * ephemeral AES-256 key encrypted with RSA-OAEP under the wrapping key. The rest is the target key,
 * wrapped with that AES key by AES key wrap with padding (RFC 5649).
 */
async function unwrapMaterial(engine: TransitEngine, ciphertext: string, hashFunction: string): Promise<Buffer> {
  const oaepHash = OAEP_HASHES[hashFunction.toUpperCase().replace('-', '')];
  if (!oaepHash) throw new BadRequestError(`unsupported hash_function ${JSON.stringify(hashFunction.slice(0, 20))}; use SHA1, SHA224, SHA256, SHA384 or SHA512`);
  const blob = decodeBase64(ciphertext, 'ciphertext');
  if (blob.length <= WRAPPED_AES_KEY_BYTES) {
    throw new BadRequestError(`invalid ciphertext: expected ${WRAPPED_AES_KEY_BYTES} bytes of wrapped AES key followed by the wrapped key`);
  }

  let aesKey: Buffer;
  try {
    aesKey = privateDecrypt(
      { key: await wrappingKey(engine), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
      blob.subarray(0, WRAPPED_AES_KEY_BYTES),
    );
  } catch {
    throw new BadRequestError('invalid ciphertext: the AES key was not wrapped with this mount\'s wrapping key and hash_function');
  }
  try {
    if (aesKey.length !== 32) throw new BadRequestError('invalid ciphertext: the wrapped AES key must be 256 bits');
    const decipher = createDecipheriv('id-aes256-wrap-pad', aesKey, KWP_IV);
    return Buffer.concat([decipher.update(blob.subarray(WRAPPED_AES_KEY_BYTES)), decipher.final()]);
  } catch (err) {
    if (err instanceof BadRequestError) throw err;
    throw new BadRequestError('invalid ciphertext: the key material failed AES key unwrapping');
  } finally {
    aesKey.fill(0);
  }
}

async function materialVersion(engine: TransitEngine, ctx: HandlerContext, type: ReturnType<typeof parseKeyType>): Promise<KeyVersion> {
  const publicKey = ctx.fields.public_key as string | undefined;
  const ciphertext = ctx.fields.ciphertext as string | undefined;
  if (publicKey && ciphertext) throw new BadRequestError('give either ciphertext or public_key, not both');
  if (publicKey) return importedPublicVersion(type, publicKey);
  if (!ciphertext) throw new BadRequestError('missing ciphertext (or public_key) to import');

  const material = await unwrapMaterial(engine, ciphertext, ctx.fields.hash_function as string);
  try {
    return importedVersion(type, material);
  } finally {
    material.fill(0);
  }
}

async function importKey(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const { fields } = ctx;
  const name = ctx.params.name;
  const type = parseKeyType(fields.type as string);
  if (fields.convergent_encryption) throw new BadRequestError('convergent_encryption is not supported for imported keys');
  if ((fields.auto_rotate_period as number) > 0 && !fields.allow_rotation) {
    throw new BadRequestError('auto_rotate_period requires allow_rotation for imported keys');
  }
  if (await engine.store.load(name)) {
    throw new BadRequestError(`key "${name}" already exists; use keys/${name}/import_version to add a version`);
  }

  const version = await materialVersion(engine, ctx, type);
  const keySize = type === 'hmac' ? Buffer.from(version.key ?? '', 'base64').length : HMAC_KEY_SIZE.default;
  const { key, created } = await engine.store.create(
    name,
    {
      type,
      derived: fields.derived as boolean,
      convergent_encryption: false,
      exportable: fields.exportable as boolean,
      allow_plaintext_backup: fields.allow_plaintext_backup as boolean,
      auto_rotate_period: fields.auto_rotate_period as number,
      key_size: keySize,
      imported: true,
      allow_rotation: fields.allow_rotation as boolean,
    },
    version,
  );
  if (!created) throw new BadRequestError(`key "${name}" already exists; use keys/${name}/import_version to add a version`);
  engine.logger.info({ key: name, type }, 'transit key imported');
  return { data: describeKey(key) };
}

async function importVersion(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const name = ctx.params.name;
  const current = await engine.store.load(name);
  if (!current) throw new BadRequestError(`key "${name}" not found`);
  if (!current.policy.imported || current.policy.imports_closed) {
    throw new BadRequestError(`key "${name}" was generated or rotated here, so it does not accept imported versions`);
  }
  const version = await materialVersion(engine, ctx, current.policy.type);
  const target = ctx.fields.version as number | undefined;

  const key = await engine.store.update(name, (policy) => {
    if (target === undefined || target === 0) {
      addVersion(policy, version);
      return;
    }
    const existing = policy.versions[target];
    if (!existing) throw new BadRequestError(`invalid version ${target}: key "${name}" has no such version`);
    if (existing.private_key || existing.key) {
      throw new BadRequestError(`version ${target} of key "${name}" already has its private key`);
    }
    if (existing.public_key !== version.public_key) {
      throw new BadRequestError(`the imported private key does not match the public key of version ${target}`);
    }
    policy.versions[target] = { ...version, creation_time: existing.creation_time };
  });
  return { data: describeKey(key) };
}
