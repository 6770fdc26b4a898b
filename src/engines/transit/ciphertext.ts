import { BadRequestError } from '../../errors.js';

/**
 * Formats a versioned value as Vault does: `vault:v<version>:<payload>`. Ciphertexts, signatures
 * and HMACs all use this prefix, and clients and stored data depend on it.
 */
export function formatVersioned(version: number, payload: Buffer, encoding: 'base64' | 'base64url' = 'base64'): string {
  return `vault:v${version}:${payload.toString(encoding)}`;
}

/**
 * Splits `vault:vN:<payload>` into the version and the encoded payload. `what` names the field in
 * the error message (ciphertext, signature, hmac).
 */
export function parseVersioned(value: string, what: string): { version: number; payload: string } {
  const match = /^vault:v(\d{1,9}):(.*)$/s.exec(value);
  if (!match) throw new BadRequestError(`invalid ${what}: expected the form vault:vN:<base64>`);
  const version = Number(match[1]);
  if (version < 1) throw new BadRequestError(`invalid ${what}: the key version must be 1 or more`);
  return { version, payload: match[2] };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decodes standard padded base64 strictly, as Go's decoder does (line breaks are skipped), so a
 * malformed value is a 400 instead of silently dropped characters.
 */
export function decodeBase64(value: string, what: string): Buffer {
  const text = value.replace(/[\r\n]/g, '');
  if (!BASE64.test(text)) throw new BadRequestError(`invalid ${what}: not valid base64`);
  return Buffer.from(text, 'base64');
}

/** Decodes URL-safe base64 (padding optional), used by JWS-marshalled signatures. */
export function decodeBase64Url(value: string, what: string): Buffer {
  if (!BASE64URL.test(value)) throw new BadRequestError(`invalid ${what}: not valid URL-safe base64`);
  return Buffer.from(value, 'base64url');
}

/** Decodes an optional base64 field: undefined or empty gives undefined. */
export function optionalBase64(value: unknown, what: string): Buffer | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new BadRequestError(`invalid ${what}: expected a base64 string`);
  return decodeBase64(value, what);
}
