import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHmac,
  privateDecrypt,
  createPublicKey,
  KeyObject,
  publicEncrypt,
  randomBytes,
  type CipherGCMTypes,
} from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import { decodeBase64, formatVersioned, parseVersioned } from './ciphertext.js';
import type { TransitKey } from './policy.js';

/** AEAD nonce length in bytes (96 bits) for AES-GCM and ChaCha20-Poly1305. */
const NONCE_BYTES = 12;
/** AEAD authentication tag length in bytes. */
const TAG_BYTES = 16;

/** Per-item inputs of encrypt, decrypt and rewrap besides the plaintext or ciphertext. */
export interface CryptOptions {
  context?: Buffer;
  associatedData?: Buffer;
  /** A caller nonce; accepted only by convergent keys, which derive their own (version 3). */
  nonce?: Buffer;
  /** RSA padding; only `oaep` is implemented. */
  paddingScheme?: string;
}

/** The one message for every failed decryption, so a tampered input reveals nothing about the key. */
const DECRYPTION_FAILED = 'invalid ciphertext: unable to decrypt';

/**
 * Encrypts with a version of the key and returns `vault:vN:<base64>`. For AEAD types the payload is
 * nonce (12 bytes) || ciphertext || tag (16 bytes), the layout Vault uses, so anyone holding the
 * exported key can decrypt it with a standard AES-GCM or ChaCha20-Poly1305 implementation.
 */
export function encryptWith(key: TransitKey, version: number, plaintext: Buffer, options: CryptOptions): string {
  if (!key.spec.encryption) {
    throw new BadRequestError(`key "${key.name}" of type ${key.policy.type} does not support encryption`);
  }
  if (key.spec.kind === 'rsa') {
    checkRsaOptions(options);
    // OAEP with SHA-256 fits at most the modulus size minus 66 bytes of plaintext.
    const publicKey = key.publicKey(version);
    const keyObject = publicKey instanceof KeyObject ? publicKey : createPublicKey(publicKey);
    const maxPlaintext = (keyObject.asymmetricKeyDetails?.modulusLength ?? 2048) / 8 - 66;
    if (plaintext.length > maxPlaintext) {
      throw new BadRequestError(`plaintext is ${plaintext.length} bytes; key "${key.name}" encrypts at most ${maxPlaintext} bytes with RSA-OAEP, so encrypt a data key instead`);
    }
    const ciphertext = publicEncrypt(
      { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      plaintext,
    );
    return formatVersioned(version, ciphertext);
  }

  const aeadKey = key.operationKey(version, options.context);
  const nonce = aeadNonce(key, aeadKey, plaintext, options.nonce);
  const cipher = createCipheriv(key.spec.cipher! as CipherGCMTypes, aeadKey, nonce, { authTagLength: TAG_BYTES });
  if (options.associatedData) cipher.setAAD(options.associatedData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  aeadKey.fill(0);
  return formatVersioned(version, Buffer.concat([nonce, body, cipher.getAuthTag()]));
}

/**
 * Returns the nonce of an AEAD encryption. Other keys use a random nonce, but convergent keys derive
 * it as HMAC-SHA256(derived key, plaintext) truncated to 12 bytes (Vault's convergent version 3).
 * The same plaintext and context therefore always give the same ciphertext.
 */
function aeadNonce(key: TransitKey, aeadKey: Buffer, plaintext: Buffer, callerNonce?: Buffer): Buffer {
  if (key.policy.convergent_encryption) {
    return createHmac('sha256', aeadKey).update(plaintext).digest().subarray(0, NONCE_BYTES);
  }
  if (callerNonce && callerNonce.length > 0) {
    throw new BadRequestError(`nonce is accepted only by keys with convergent_encryption; key "${key.name}" generates its own`);
  }
  return randomBytes(NONCE_BYTES);
}

/** Decrypts `vault:vN:<base64>` and returns the plaintext and the key version used. */
export function decryptWith(key: TransitKey, ciphertext: string, options: CryptOptions): { plaintext: Buffer; version: number } {
  if (!key.spec.encryption) {
    throw new BadRequestError(`key "${key.name}" of type ${key.policy.type} does not support decryption`);
  }
  const parsed = parseVersioned(ciphertext, 'ciphertext');
  const version = key.decryptionVersion(parsed.version);
  const payload = decodeBase64(parsed.payload, 'ciphertext');

  if (key.spec.kind === 'rsa') {
    checkRsaOptions(options);
    try {
      const plaintext = privateDecrypt(
        { key: key.privateKey(version), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        payload,
      );
      return { plaintext, version };
    } catch (err) {
      if (err instanceof BadRequestError) throw err;
      throw new BadRequestError(DECRYPTION_FAILED);
    }
  }

  if (payload.length < NONCE_BYTES + TAG_BYTES) throw new BadRequestError(DECRYPTION_FAILED);
  const aeadKey = key.operationKey(version, options.context);
  try {
    const nonce = payload.subarray(0, NONCE_BYTES);
    const tag = payload.subarray(payload.length - TAG_BYTES);
    const decipher = createDecipheriv(key.spec.cipher! as CipherGCMTypes, aeadKey, nonce, { authTagLength: TAG_BYTES });
    if (options.associatedData) decipher.setAAD(options.associatedData);
    decipher.setAuthTag(tag);
    const body = payload.subarray(NONCE_BYTES, payload.length - TAG_BYTES);
    return { plaintext: Buffer.concat([decipher.update(body), decipher.final()]), version };
  } catch {
    throw new BadRequestError(DECRYPTION_FAILED);
  } finally {
    aeadKey.fill(0);
  }
}

/**
 * Rejects RSA padding schemes other than OAEP. NOTE: Vault also offers `pkcs1v15`, but Node 20
 * refuses PKCS#1 v1.5 private decryption (CVE-2023-46809), so Coffer rejects it for encryption too
 * rather than produce ciphertext it cannot decrypt.
 */
function checkRsaOptions(options: CryptOptions): void {
  const scheme = options.paddingScheme ?? 'oaep';
  if (scheme === '' || scheme === 'oaep') return;
  if (scheme === 'pkcs1v15') throw new BadRequestError('padding_scheme pkcs1v15 is not supported by Coffer; use oaep');
  throw new BadRequestError(`unsupported padding_scheme ${JSON.stringify(scheme.slice(0, 20))}; use oaep`);
}
