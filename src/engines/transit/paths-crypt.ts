import { randomBytes } from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { batchInput, batchResponse, itemInt, itemString, runBatch, type Item } from './batch.js';
import { decodeBase64, optionalBase64 } from './ciphertext.js';
import { decryptWith, encryptWith, type CryptOptions } from './encryption.js';
import { KEY_NAME, upsertAllowed, type TransitEngine } from './engine.js';
import { HMAC_KEY_SIZE, parseKeyType } from './key-types.js';
import type { TransitKey } from './policy.js';

const COMMON_FIELDS: Record<string, FieldSpec> = {
  context: { type: 'string', description: 'Base64 context for key derivation; required by derived keys.' },
  nonce: { type: 'string', description: 'Base64 nonce; accepted by convergent keys only, which derive their own.' },
  associated_data: { type: 'string', description: 'Base64 associated data authenticated by AEAD key types.' },
  padding_scheme: { type: 'string', description: 'RSA padding: oaep (the only scheme Coffer implements).' },
  batch_input: { type: 'array', description: 'Items to process in one request; each result may carry an error.' },
  reference: { type: 'string', description: 'Ignored outside batch_input, where each item may carry one.' },
  partial_failure_response_code: { type: 'int', description: 'HTTP status to return when some batch items fail and others succeed.' },
};

const KEY_VERSION: FieldSpec = { type: 'int', description: 'Key version to use; 0 means the latest.', default: 0 };

/** Paths `encrypt/NAME`, `decrypt/NAME`, `rewrap/NAME` and `datakey/(plaintext|wrapped)/NAME`. */
export function cryptPaths(engine: TransitEngine): PathSpec[] {
  const keyExists = async (ctx: HandlerContext) => (await engine.store.load(ctx.params.name)) !== null;
  return [
    {
      pattern: `encrypt/${KEY_NAME}`,
      fields: {
        ...COMMON_FIELDS,
        plaintext: { type: 'string', description: 'Base64 plaintext to encrypt.' },
        key_version: KEY_VERSION,
        type: { type: 'string', description: 'Type of the key an upsert creates.', default: 'aes256-gcm96' },
        convergent_encryption: { type: 'bool', description: 'Whether a key an upsert creates uses convergent encryption.' },
      },
      existenceCheck: keyExists,
      operations: { create: (ctx) => encrypt(engine, ctx, true), update: (ctx) => encrypt(engine, ctx, false) },
      help: 'Encrypts base64 plaintext with the named key. With the create capability, a missing key is created.',
    },
    {
      pattern: `decrypt/${KEY_NAME}`,
      fields: { ...COMMON_FIELDS, ciphertext: { type: 'string', description: 'Ciphertext of the form vault:vN:...' } },
      operations: { update: (ctx) => decrypt(engine, ctx) },
      help: 'Decrypts a vault:vN: ciphertext and returns the base64 plaintext.',
    },
    {
      pattern: `rewrap/${KEY_NAME}`,
      fields: {
        ...COMMON_FIELDS,
        ciphertext: { type: 'string', description: 'Ciphertext of the form vault:vN:...' },
        key_version: KEY_VERSION,
        decrypt_padding_scheme: { type: 'string', description: 'RSA padding of the decryption: oaep.' },
        encrypt_padding_scheme: { type: 'string', description: 'RSA padding of the encryption: oaep.' },
      },
      operations: { update: (ctx) => rewrap(engine, ctx) },
      help: 'Decrypts a ciphertext and encrypts it again with the latest (or given) key version, never returning the plaintext.',
    },
    {
      pattern: `datakey/(?<type>plaintext|wrapped)/${KEY_NAME}`,
      fields: {
        context: COMMON_FIELDS.context,
        nonce: COMMON_FIELDS.nonce,
        associated_data: COMMON_FIELDS.associated_data,
        padding_scheme: COMMON_FIELDS.padding_scheme,
        key_version: KEY_VERSION,
        bits: { type: 'int', description: 'Bits of the data key: 128, 256 or 512.', default: 256 },
      },
      operations: { update: (ctx) => dataKey(engine, ctx) },
      help: 'Generates a random data key and returns it encrypted with the named key (and in plaintext for the plaintext type).',
    },
  ];
}

async function encrypt(engine: TransitEngine, ctx: HandlerContext, mayCreate: boolean): Promise<LogicalResponse> {
  const { fields } = ctx;
  const name = ctx.params.name;
  const batch = batchInput(fields.batch_input);
  let key = await engine.store.loadForUse(name);
  if (!key) {
    if (!mayCreate || !(await upsertAllowed(engine))) throw new BadRequestError(`encryption key "${name}" not found`);
    // As in Vault, an upserted key is derived when the request (or the first batch item) has a context.
    const first = batch && typeof batch[0] === 'object' && batch[0] !== null ? (batch[0] as Item) : fields;
    const created = await engine.store.create(name, {
      type: parseKeyType(fields.type as string),
      derived: (itemString(first, 'context') ?? '') !== '',
      convergent_encryption: fields.convergent_encryption === true,
      exportable: false,
      allow_plaintext_backup: false,
      auto_rotate_period: 0,
      key_size: HMAC_KEY_SIZE.default,
    });
    key = created.key;
  }

  const defaultVersion = fields.key_version as number;
  const handle = (item: Item): Item => {
    const plaintext = itemString(item, 'plaintext');
    if (plaintext === undefined) throw new BadRequestError('missing plaintext to encrypt');
    const version = key.encryptionVersion(itemInt(item, 'key_version') ?? defaultVersion);
    const ciphertext = encryptWith(key, version, decodeBase64(plaintext, 'plaintext'), cryptOptions(item, fields));
    return { ciphertext, key_version: version };
  };
  return respond(engine, ctx, batch, handle);
}

async function decrypt(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const key = await requireKey(engine, ctx.params.name);
  const handle = (item: Item): Item => {
    const ciphertext = itemString(item, 'ciphertext');
    if (!ciphertext) throw new BadRequestError('missing ciphertext to decrypt');
    const { plaintext } = decryptWith(key, ciphertext, cryptOptions(item, ctx.fields));
    return { plaintext: plaintext.toString('base64') };
  };
  return respond(engine, ctx, batchInput(ctx.fields.batch_input), handle);
}

async function rewrap(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const key = await requireKey(engine, ctx.params.name);
  const { fields } = ctx;
  const handle = (item: Item): Item => {
    const ciphertext = itemString(item, 'ciphertext');
    if (!ciphertext) throw new BadRequestError('missing ciphertext to rewrap');
    const options = cryptOptions(item, fields);
    const { plaintext } = decryptWith(key, ciphertext, { ...options, paddingScheme: fields.decrypt_padding_scheme as string | undefined });
    const version = key.encryptionVersion(itemInt(item, 'key_version') ?? (fields.key_version as number));
    const rewrapped = encryptWith(key, version, plaintext, { ...options, paddingScheme: fields.encrypt_padding_scheme as string | undefined });
    plaintext.fill(0);
    return { ciphertext: rewrapped, key_version: version };
  };
  return respond(engine, ctx, batchInput(fields.batch_input), handle);
}

async function dataKey(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const key = await requireKey(engine, ctx.params.name);
  const bits = ctx.fields.bits as number;
  if (bits !== 128 && bits !== 256 && bits !== 512) {
    throw new BadRequestError(`invalid bits ${bits}: use 128, 256 or 512`);
  }
  const version = key.encryptionVersion(ctx.fields.key_version as number);
  const material = randomBytes(bits / 8);
  const ciphertext = encryptWith(key, version, material, cryptOptions(ctx.fields, ctx.fields));
  const data: Record<string, unknown> = { ciphertext, key_version: version };
  if (ctx.params.type === 'plaintext') data.plaintext = material.toString('base64');
  material.fill(0);
  return { data };
}

/** Loads a key for use; a missing key is a 400, as in Vault. */
export async function requireKey(engine: TransitEngine, name: string): Promise<TransitKey> {
  const key = await engine.store.loadForUse(name);
  if (!key) throw new BadRequestError(`key "${name}" not found`);
  return key;
}

/** Reads the derivation and AEAD options of an item; the padding scheme is request-wide. */
function cryptOptions(item: Item, fields: Item): CryptOptions {
  return {
    context: optionalBase64(item.context, 'context'),
    nonce: optionalBase64(item.nonce, 'nonce'),
    associatedData: optionalBase64(item.associated_data, 'associated_data'),
    paddingScheme: fields.padding_scheme as string | undefined,
  };
}

/**
 * Runs a single request (its fields as one item, errors thrown) or a batch (errors per item).
 */
export async function respond(
  engine: TransitEngine,
  ctx: HandlerContext,
  batch: unknown[] | undefined,
  handle: (item: Item) => Item,
): Promise<LogicalResponse> {
  if (!batch) return { data: handle(ctx.fields) };
  const outcome = await runBatch(batch, engine.logger, handle);
  return batchResponse(outcome, ctx.fields.partial_failure_response_code as number | undefined);
}
