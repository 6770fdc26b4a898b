import { BadRequestError } from '../../errors.js';

/** Transit key types, by Vault's names. */
export type KeyType =
  | 'aes128-gcm96'
  | 'aes256-gcm96'
  | 'chacha20-poly1305'
  | 'ed25519'
  | 'ecdsa-p256'
  | 'ecdsa-p384'
  | 'ecdsa-p521'
  | 'rsa-2048'
  | 'rsa-3072'
  | 'rsa-4096'
  | 'hmac';

/** Generation parameters and supported operations of a key type. */
export interface KeyTypeSpec {
  kind: 'aead' | 'ed25519' | 'ecdsa' | 'rsa' | 'hmac';
  /** Node's cipher name for AEAD types. */
  cipher?: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  /** Key length in bytes for AEAD types. */
  keyBytes?: number;
  /** Node's curve name for ECDSA types. */
  curve?: 'P-256' | 'P-384' | 'P-521';
  /** Modulus length in bits for RSA types. */
  modulusBits?: number;
  encryption: boolean;
  signing: boolean;
  derivation: boolean;
  convergent: boolean;
}

export const KEY_TYPES: Record<KeyType, KeyTypeSpec> = {
  'aes128-gcm96': aead('aes-128-gcm', 16),
  'aes256-gcm96': aead('aes-256-gcm', 32),
  'chacha20-poly1305': aead('chacha20-poly1305', 32),
  ed25519: { kind: 'ed25519', encryption: false, signing: true, derivation: true, convergent: false },
  'ecdsa-p256': ecdsa('P-256'),
  'ecdsa-p384': ecdsa('P-384'),
  'ecdsa-p521': ecdsa('P-521'),
  'rsa-2048': rsa(2048),
  'rsa-3072': rsa(3072),
  'rsa-4096': rsa(4096),
  hmac: { kind: 'hmac', encryption: false, signing: false, derivation: false, convergent: false },
};

function aead(cipher: KeyTypeSpec['cipher'], keyBytes: number): KeyTypeSpec {
  return { kind: 'aead', cipher, keyBytes, encryption: true, signing: false, derivation: true, convergent: true };
}

function ecdsa(curve: KeyTypeSpec['curve']): KeyTypeSpec {
  return { kind: 'ecdsa', curve, encryption: false, signing: true, derivation: false, convergent: false };
}

function rsa(modulusBits: number): KeyTypeSpec {
  return { kind: 'rsa', modulusBits, encryption: true, signing: true, derivation: false, convergent: false };
}

/** Checks a `type` field value and returns it as a key type. */
export function parseKeyType(value: string): KeyType {
  if (Object.hasOwn(KEY_TYPES, value)) return value as KeyType;
  const shown = JSON.stringify(value.slice(0, 40));
  throw new BadRequestError(`unknown key type ${shown}; supported types: ${Object.keys(KEY_TYPES).join(', ')}`);
}

/** Default and bounds of `key_size` for the hmac type, in bytes. */
export const HMAC_KEY_SIZE = { default: 32, min: 32, max: 512 };

/** Shortest accepted `auto_rotate_period`, in seconds (Vault's limit of one hour). */
export const MIN_AUTO_ROTATE_SECONDS = 3600;
