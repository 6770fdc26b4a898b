import { BadRequestError } from '../../errors.js';

/** Vault's hash algorithm names and Node's digest names for them. */
const HASH_ALGORITHMS: Record<string, string> = {
  'sha2-224': 'sha224',
  'sha2-256': 'sha256',
  'sha2-384': 'sha384',
  'sha2-512': 'sha512',
  'sha3-224': 'sha3-224',
  'sha3-256': 'sha3-256',
  'sha3-384': 'sha3-384',
  'sha3-512': 'sha3-512',
};

/** Digest sizes in bytes, to check prehashed input. */
export const DIGEST_BYTES: Record<string, number> = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  'sha3-224': 28,
  'sha3-256': 32,
  'sha3-384': 48,
  'sha3-512': 64,
};

/**
 * Returns Node's digest name for a Vault hash algorithm. `allowSha1` admits `sha1`, which Vault
 * accepts for signatures only.
 */
export function digestName(algorithm: string, allowSha1 = false): string {
  if (allowSha1 && algorithm === 'sha1') return 'sha1';
  const name = HASH_ALGORITHMS[algorithm];
  if (name) return name;
  const shown = JSON.stringify(algorithm.slice(0, 40));
  const accepted = [...(allowSha1 ? ['sha1'] : []), ...Object.keys(HASH_ALGORITHMS)].join(', ');
  throw new BadRequestError(`unsupported hash algorithm ${shown}; use one of ${accepted}`);
}

/** Checks an output `format` field: `hex` or `base64`. */
export function outputFormat(value: unknown, fallback: 'hex' | 'base64'): 'hex' | 'base64' {
  const format = value === undefined || value === '' ? fallback : value;
  if (format === 'hex' || format === 'base64') return format;
  throw new BadRequestError(`unsupported format ${JSON.stringify(String(format).slice(0, 20))}; use hex or base64`);
}
