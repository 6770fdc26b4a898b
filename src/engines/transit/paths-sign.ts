import { BadRequestError } from '../../errors.js';
import type { FieldSpec, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { batchInput, itemInt, itemString, type Item } from './batch.js';
import { decodeBase64, optionalBase64 } from './ciphertext.js';
import { KEY_NAME, type TransitEngine } from './engine.js';
import { digestName } from './hashing.js';
import { requireKey, respond } from './paths-crypt.js';
import { hmacWith, signWith, verifyHmacWith, verifyWith, type SignOptions } from './signing.js';

/** An algorithm in the URL, such as `sign/NAME/sha2-512`, overrides the body field. */
const URL_ALGORITHM = '(?:/(?<url_algorithm>[\\w-]+))?';

const INPUT_FIELDS: Record<string, FieldSpec> = {
  input: { type: 'string', description: 'Base64 input data.' },
  batch_input: { type: 'array', description: 'Items to process in one request; each result may carry an error.' },
  reference: { type: 'string', description: 'Ignored outside batch_input, where each item may carry one.' },
  partial_failure_response_code: { type: 'int', description: 'HTTP status to return when some batch items fail and others succeed.' },
  key_version: { type: 'int', description: 'Key version to use; 0 means the latest.', default: 0 },
};

const SIGNATURE_FIELDS: Record<string, FieldSpec> = {
  hash_algorithm: { type: 'string', description: 'Hash algorithm: sha1, sha2-224/256/384/512, sha3-224/256/384/512, or none.', default: 'sha2-256' },
  algorithm: { type: 'string', description: 'Deprecated name of hash_algorithm.' },
  context: { type: 'string', description: 'Base64 context for derived ed25519 keys.' },
  prehashed: { type: 'bool', description: 'True when input is already a digest (RSA keys).', default: false },
  signature_algorithm: { type: 'string', description: 'RSA signature scheme: pss or pkcs1v15.', default: 'pss' },
  marshaling_algorithm: { type: 'string', description: 'ECDSA signature encoding: asn1 or jws.', default: 'asn1' },
  salt_length: { type: 'string', description: 'RSA-PSS salt length: auto, hash, or a number of bytes.', default: 'auto' },
};

/** Paths `sign/NAME`, `verify/NAME` and `hmac/NAME`, each with an optional algorithm suffix. */
export function signPaths(engine: TransitEngine): PathSpec[] {
  return [
    {
      pattern: `sign/${KEY_NAME}${URL_ALGORITHM}`,
      fields: { ...INPUT_FIELDS, ...SIGNATURE_FIELDS },
      operations: { update: (ctx) => signInput(engine, ctx) },
      help: 'Signs base64 input with the named asymmetric key.',
    },
    {
      pattern: `verify/${KEY_NAME}${URL_ALGORITHM}`,
      fields: {
        ...INPUT_FIELDS,
        ...SIGNATURE_FIELDS,
        signature: { type: 'string', description: 'Signature from sign, of the form vault:vN:...' },
        hmac: { type: 'string', description: 'HMAC from hmac, of the form vault:vN:...' },
      },
      operations: { update: (ctx) => verifyInput(engine, ctx) },
      help: 'Checks a signature or an HMAC of base64 input; returns valid true or false.',
    },
    {
      pattern: `hmac/${KEY_NAME}${URL_ALGORITHM}`,
      fields: {
        ...INPUT_FIELDS,
        algorithm: { type: 'string', description: 'Hash algorithm: sha2-224/256/384/512 or sha3-224/256/384/512.', default: 'sha2-256' },
      },
      operations: { update: (ctx) => hmacInput(engine, ctx) },
      help: "Computes the HMAC of base64 input with the named key's HMAC key.",
    },
  ];
}

function signOptions(ctx: HandlerContext, item: Item): SignOptions {
  const { fields } = ctx;
  const hashAlgorithm = ctx.params.url_algorithm ?? (fields.algorithm as string | undefined) ?? (fields.hash_algorithm as string);
  return {
    hashAlgorithm,
    prehashed: fields.prehashed as boolean,
    signatureAlgorithm: fields.signature_algorithm as string,
    marshalingAlgorithm: fields.marshaling_algorithm as string,
    saltLength: fields.salt_length as string,
    context: optionalBase64(item.context, 'context'),
  };
}

function requireInput(item: Item, message: string): Buffer {
  const input = itemString(item, 'input');
  if (input === undefined) throw new BadRequestError(message);
  return decodeBase64(input, 'input');
}

async function signInput(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const key = await requireKey(engine, ctx.params.name);
  const handle = (item: Item): Item => {
    const input = requireInput(item, 'missing input to sign');
    const version = key.encryptionVersion(itemInt(item, 'key_version') ?? (ctx.fields.key_version as number));
    return { ...signWith(key, version, input, signOptions(ctx, item)), key_version: version };
  };
  return respond(engine, ctx, batchInput(ctx.fields.batch_input), handle);
}

async function verifyInput(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const key = await requireKey(engine, ctx.params.name);
  const batch = batchInput(ctx.fields.batch_input);
  const items = (batch ?? [ctx.fields]).filter((item): item is Item => typeof item === 'object' && item !== null);
  const usesHmac = items.some((item) => item.hmac !== undefined && item.hmac !== null && item.hmac !== '');
  const usesSignature = items.some((item) => item.signature !== undefined && item.signature !== null && item.signature !== '');
  if (usesHmac && usesSignature) {
    throw new BadRequestError('give either signature or hmac, not both, and the same one in every batch item');
  }
  if (!batch && !usesHmac && !usesSignature) throw new BadRequestError('missing signature or hmac to verify');

  const hmacAlgorithm = ctx.params.url_algorithm ?? (ctx.fields.algorithm as string | undefined) ?? (ctx.fields.hash_algorithm as string);
  const handle = (item: Item): Item => {
    const input = requireInput(item, 'missing input to verify');
    if (usesHmac) {
      const hmac = itemString(item, 'hmac');
      if (!hmac) throw new BadRequestError('missing hmac to verify');
      return { valid: verifyHmacWith(key, input, hmac, hmacAlgorithm) };
    }
    const signature = itemString(item, 'signature');
    if (!signature) throw new BadRequestError('missing signature to verify');
    return { valid: verifyWith(key, input, signature, signOptions(ctx, item)) };
  };
  return respond(engine, ctx, batch, handle);
}

async function hmacInput(engine: TransitEngine, ctx: HandlerContext): Promise<LogicalResponse> {
  const key = await requireKey(engine, ctx.params.name);
  const algorithm = ctx.params.url_algorithm ?? (ctx.fields.algorithm as string);
  digestName(algorithm);
  const handle = (item: Item): Item => {
    const input = requireInput(item, 'missing input for HMAC');
    const version = key.encryptionVersion(itemInt(item, 'key_version') ?? (ctx.fields.key_version as number));
    return { hmac: hmacWith(key, version, input, algorithm), key_version: version };
  };
  return respond(engine, ctx, batchInput(ctx.fields.batch_input), handle);
}
