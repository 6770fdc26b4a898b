import { combine, split } from 'shamir-secret-sharing';
import { BadRequestError } from '../../errors.js';

/** Size in bytes of the unseal key that the shares reconstruct. */
export const UNSEAL_KEY_SIZE = 32;

/**
 * Returns the size in bytes of one unseal key share: a split share is the key plus a one-byte
 * x-coordinate, and with a single share the unseal key itself is the share.
 */
export function shareSize(secretShares: number): number {
  return secretShares === 1 ? UNSEAL_KEY_SIZE : UNSEAL_KEY_SIZE + 1;
}

/**
 * Splits the unseal key into `secretShares` shares, any `secretThreshold` of which rebuild it.
 * With one share, returns a copy of the key itself, because `shamir-secret-sharing` 0.0.4 accepts
 * only 2 to 255 shares and a threshold of at least 2.
 *
 * NOTE: the library's intermediate polynomial coefficients are not zeroed.
 */
export async function splitUnsealKey(
  unsealKey: Buffer,
  secretShares: number,
  secretThreshold: number,
): Promise<Buffer[]> {
  if (secretShares === 1) return [Buffer.from(unsealKey)];
  const shares = await split(plainView(unsealKey), secretShares, secretThreshold);
  return shares.map((share) => Buffer.from(share.buffer, share.byteOffset, share.byteLength));
}

/**
 * Rebuilds the unseal key from shares. A wrong combination still returns a key, only the wrong
 * one, so the caller must check it (the seal does so by decrypting the stored root key). Throws
 * when the library rejects the set, for example two shares with the same x-coordinate.
 */
export async function combineShares(shares: Buffer[]): Promise<Buffer> {
  if (shares.length === 1) return Buffer.from(shares[0]);
  const key = await combine(shares.map(plainView));
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength);
}

/**
 * Decodes a share given as hex or standard base64, as Vault accepts them. Throws a
 * `BadRequestError` that never echoes the input when the text is neither, when the decoded size
 * is not `expectedSize`, or when a split share has the x-coordinate 0, which no valid share has.
 */
export function decodeShare(text: string, expectedSize: number): Buffer {
  const share = decodeHex(text) ?? decodeBase64(text);
  if (share === null) {
    throw new BadRequestError('invalid unseal key: expected a key share encoded as hex or base64');
  }
  if (share.length !== expectedSize) {
    const received = share.length;
    share.fill(0);
    throw new BadRequestError(
      `invalid unseal key: the decoded share is ${received} bytes, expected ${expectedSize}`,
    );
  }
  if (expectedSize === UNSEAL_KEY_SIZE + 1 && share[expectedSize - 1] === 0) {
    share.fill(0);
    throw new BadRequestError('invalid unseal key: the share has no valid x-coordinate');
  }
  return share;
}

// Hex is tried first, as Vault does. Text that is valid hex is also valid base64, but a random
// base64 share consists only of hex digits with a negligible chance ((22/64)^44 for 33 bytes).
function decodeHex(text: string): Buffer | null {
  if (text.length === 0 || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  return Buffer.from(text, 'hex');
}

function decodeBase64(text: string): Buffer | null {
  if (text.length === 0 || text.length % 4 !== 0) return null;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

// The library checks `constructor === Uint8Array`, which a Buffer fails, so pass a plain view of
// the same memory instead of a copy.
function plainView(bytes: Buffer): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
