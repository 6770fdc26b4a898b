import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** A password hash as stored, with the parameters it was made with so they can change later. */
export interface PasswordHash {
  algorithm: 'scrypt';
  /** scrypt cost parameter N (a power of two). */
  n: number;
  r: number;
  p: number;
  /** Base64. */
  salt: string;
  /** Base64. */
  hash: string;
}

/**
 * scrypt parameters for new hashes. N = 2^15, r = 8, p = 1 needs 32 MiB (128 * N * r bytes) per
 * hash, which makes guessing on GPUs costly while a login stays fast: one hash took about 75 ms on
 * the 2-core development machine (measured once with `node -e`, Node.js 20).
 */
const COST = { n: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Largest N accepted from storage, so a damaged entry cannot make a login allocate gigabytes. */
const MAX_N = 2 ** 20;

/** Hashes a password with scrypt and a random salt. Runs on the libuv thread pool. */
export async function hashPassword(password: string): Promise<PasswordHash> {
  const salt = randomBytes(SALT_LENGTH);
  const hash = await derive(password, salt, COST);
  return { algorithm: 'scrypt', ...COST, salt: salt.toString('base64'), hash: hash.toString('base64') };
}

/** True when the password matches the stored hash; compares in constant time. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (stored.algorithm !== 'scrypt' || !Number.isSafeInteger(stored.n) || stored.n < 2 || stored.n > MAX_N) {
    throw new Error(`unsupported password hash parameters (algorithm ${stored.algorithm}, N ${stored.n})`);
  }
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await derive(password, Buffer.from(stored.salt, 'base64'), stored);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function derive(password: string, salt: Buffer, cost: { n: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: cost.n, r: cost.r, p: cost.p, maxmem: 256 * cost.n * cost.r };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}
