import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { InternalError } from '../../errors.js';

/**
 * The encrypted entry format shared by the barrier (logical entries and the keyring) and the seal
 * (the stored root key):
 *
 *   version (1 byte) | term (uint32, big-endian) | nonce (12 bytes) | ciphertext | tag (16 bytes)
 *
 * The cipher is AES-256-GCM with a fresh random nonce per entry. The associated data is the
 * 5-byte header followed by the UTF-8 storage path, so a changed header or an entry copied to
 * another path fails authentication.
 */
export const ENTRY_VERSION = 1;

/** Size in bytes of the version byte and the term. */
export const HEADER_SIZE = 5;
export const NONCE_SIZE = 12;
export const TAG_SIZE = 16;
export const KEY_SIZE = 32;

/** Size of an entry with an empty plaintext. A shorter entry is truncated. */
export const MIN_ENTRY_SIZE = HEADER_SIZE + NONCE_SIZE + TAG_SIZE;

const MAX_TERM = 0xffffffff;

/** Encrypts `plaintext` for storage at `path` under the key of `term`. */
export function encryptEntry(key: Buffer, term: number, path: string, plaintext: Buffer): Buffer {
  const entry = Buffer.allocUnsafe(MIN_ENTRY_SIZE + plaintext.length);
  entry[0] = ENTRY_VERSION;
  entry.writeUInt32BE(term, 1);
  const nonce = entry.subarray(HEADER_SIZE, HEADER_SIZE + NONCE_SIZE);
  randomFillSync(nonce);

  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(associatedData(entry, path));

  // Write the ciphertext straight into the entry: GCM output is as long as its input.
  let offset = HEADER_SIZE + NONCE_SIZE;
  offset += cipher.update(plaintext).copy(entry, offset);
  offset += cipher.final().copy(entry, offset);
  cipher.getAuthTag().copy(entry, offset);
  return entry;
}

/** Reads the term from an entry's header after checking its version and length. */
export function entryTerm(path: string, entry: Buffer): number {
  if (entry.length < MIN_ENTRY_SIZE) {
    throw new InternalError(
      `decrypting "${path}": entry is truncated (${entry.length} bytes, minimum ${MIN_ENTRY_SIZE})`,
    );
  }
  if (entry[0] !== ENTRY_VERSION) {
    throw new InternalError(`decrypting "${path}": unsupported entry version ${entry[0]}`);
  }
  return entry.readUInt32BE(1);
}

/**
 * Decrypts an entry stored at `path` with `key`, which must be the key of the entry's term.
 * Throws an `InternalError` naming the path when authentication fails; the error never contains
 * the key or any plaintext.
 */
export function decryptEntry(key: Buffer, path: string, entry: Buffer): Buffer {
  entryTerm(path, entry);
  const nonce = entry.subarray(HEADER_SIZE, HEADER_SIZE + NONCE_SIZE);
  const tagStart = entry.length - TAG_SIZE;

  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(associatedData(entry, path));
  decipher.setAuthTag(entry.subarray(tagStart));
  const plaintext = decipher.update(entry.subarray(HEADER_SIZE + NONCE_SIZE, tagStart));
  try {
    decipher.final();
  } catch {
    // Node's message for a failed tag check is generic, so replace it with one naming the path.
    plaintext.fill(0);
    throw new InternalError(`decrypting "${path}": authentication failed`);
  }
  return plaintext;
}

/** Throws unless `term` fits the header's uint32 field. */
export function checkTerm(term: number): void {
  if (!Number.isInteger(term) || term < 0 || term > MAX_TERM) {
    throw new RangeError(`invalid key term ${term}: expected an integer from 0 to ${MAX_TERM}`);
  }
}

function associatedData(entry: Buffer, path: string): Buffer {
  return Buffer.concat([entry.subarray(0, HEADER_SIZE), Buffer.from(path, 'utf8')]);
}
