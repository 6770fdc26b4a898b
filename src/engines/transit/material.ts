import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { promisify } from 'node:util';
import { BadRequestError } from '../../errors.js';
import { KEY_TYPES, type KeyType } from './key-types.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * The key material of one version of a transit key, as stored (inside the barrier). Binary values
 * are base64, asymmetric keys are PEM.
 */
export interface KeyVersion {
  /** AEAD key, Ed25519 seed (32 bytes), or the key of an hmac-type key. */
  key?: string;
  /** The version's HMAC key; absent for the hmac type, whose `key` is the HMAC key. */
  hmac_key?: string;
  /** PKCS#8 PEM private key of ECDSA and RSA versions. */
  private_key?: string;
  /** SPKI PEM public key of ECDSA and RSA versions; base64 raw public key of Ed25519 versions. */
  public_key?: string;
  /** RFC 3339 time the version was created or imported. */
  creation_time: string;
}

/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows it (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Generates the material of a new version. `keySize` is in bytes and applies to the hmac type. */
export async function generateVersion(type: KeyType, keySize: number): Promise<KeyVersion> {
  const spec = KEY_TYPES[type];
  const creation_time = new Date().toISOString();
  const hmac_key = randomBytes(32).toString('base64');

  switch (spec.kind) {
    case 'aead':
      return { key: randomBytes(spec.keyBytes!).toString('base64'), hmac_key, creation_time };
    case 'hmac':
      return { key: randomBytes(keySize).toString('base64'), creation_time };
    case 'ed25519': {
      const seed = randomBytes(32);
      return { key: seed.toString('base64'), public_key: ed25519PublicKey(seed), hmac_key, creation_time };
    }
    case 'ecdsa': {
      const pair = await generateKeyPairAsync('ec', { namedCurve: spec.curve! });
      return { ...pemPair(pair.privateKey), hmac_key, creation_time };
    }
    case 'rsa': {
      const pair = await generateKeyPairAsync('rsa', { modulusLength: spec.modulusBits! });
      return { ...pemPair(pair.privateKey), hmac_key, creation_time };
    }
  }
}

/**
 * Builds a version from imported key material: raw bytes for AEAD and hmac types, PKCS#8 DER for
 * asymmetric types, as Vault's import documents. Throws 400 when the material does not fit the type.
 */
export function importedVersion(type: KeyType, material: Buffer): KeyVersion {
  const spec = KEY_TYPES[type];
  const creation_time = new Date().toISOString();
  const hmac_key = randomBytes(32).toString('base64');

  if (spec.kind === 'aead') {
    if (material.length !== spec.keyBytes) {
      throw new BadRequestError(`invalid key material for ${type}: expected ${spec.keyBytes} bytes, got ${material.length}`);
    }
    return { key: material.toString('base64'), hmac_key, creation_time };
  }
  if (spec.kind === 'hmac') {
    if (material.length < 32 || material.length > 512) {
      throw new BadRequestError(`invalid key material for hmac: expected 32 to 512 bytes, got ${material.length}`);
    }
    return { key: material.toString('base64'), creation_time };
  }

  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
  } catch {
    throw new BadRequestError(`invalid key material for ${type}: expected a PKCS#8 DER private key`);
  }
  checkKeyObjectType(type, privateKey);
  if (spec.kind === 'ed25519') {
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    const seed = der.subarray(der.length - 32);
    return { key: seed.toString('base64'), public_key: ed25519PublicKey(seed), hmac_key, creation_time };
  }
  return { ...pemPair(privateKey), hmac_key, creation_time };
}

/** Builds a public-only version from a PEM public key (import with `public_key`). */
export function importedPublicVersion(type: KeyType, pem: string): KeyVersion {
  const spec = KEY_TYPES[type];
  if (spec.kind === 'aead' || spec.kind === 'hmac') {
    throw new BadRequestError(`public_key import applies to asymmetric key types only, not ${type}`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new BadRequestError('invalid public_key: expected a PEM public key');
  }
  checkKeyObjectType(type, publicKey);
  const creation_time = new Date().toISOString();
  const hmac_key = randomBytes(32).toString('base64');
  if (spec.kind === 'ed25519') {
    const x = publicKey.export({ format: 'jwk' }).x!;
    return { public_key: Buffer.from(x, 'base64url').toString('base64'), hmac_key, creation_time };
  }
  return { public_key: publicKey.export({ format: 'pem', type: 'spki' }).toString(), hmac_key, creation_time };
}

/** Throws 400 unless the key object is of the algorithm and size the transit type names. */
function checkKeyObjectType(type: KeyType, key: KeyObject): void {
  const spec = KEY_TYPES[type];
  const details = key.asymmetricKeyDetails ?? {};
  const curves: Record<string, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };
  const matches =
    (spec.kind === 'ed25519' && key.asymmetricKeyType === 'ed25519') ||
    (spec.kind === 'ecdsa' && key.asymmetricKeyType === 'ec' && details.namedCurve === curves[spec.curve!]) ||
    (spec.kind === 'rsa' && key.asymmetricKeyType === 'rsa' && details.modulusLength === spec.modulusBits);
  if (!matches) {
    const found = [key.asymmetricKeyType, details.namedCurve ?? details.modulusLength].filter(Boolean).join(' ');
    throw new BadRequestError(`invalid key material: the key is ${found}, which does not match type ${type}`);
  }
}

function pemPair(privateKey: KeyObject): { private_key: string; public_key: string } {
  return {
    private_key: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    public_key: createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** Builds an Ed25519 private key object from its 32-byte seed. */
export function ed25519PrivateKey(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Returns the base64 raw Ed25519 public key for a seed. */
export function ed25519PublicKey(seed: Buffer): string {
  const x = createPublicKey(ed25519PrivateKey(seed)).export({ format: 'jwk' }).x!;
  return Buffer.from(x, 'base64url').toString('base64');
}
