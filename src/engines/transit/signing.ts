import {
  constants,
  createHash,
  createHmac,
  createPublicKey,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import { decodeBase64, decodeBase64Url, formatVersioned, parseVersioned } from './ciphertext.js';
import { DIGEST_BYTES, digestName } from './hashing.js';
import { ed25519PrivateKey } from './material.js';
import type { TransitKey } from './policy.js';

/** Signing parameters of sign and verify requests. */
export interface SignOptions {
  hashAlgorithm: string;
  prehashed: boolean;
  signatureAlgorithm: string;
  marshalingAlgorithm: string;
  saltLength: string;
  context?: Buffer;
}

/**
 * DER DigestInfo prefixes (RFC 8017 section 9.2, note 1) by Node digest name, used to build a
 * PKCS#1 v1.5 signature over a digest the caller computed.
 */
const DIGEST_INFO_PREFIX: Record<string, string> = {
  sha1: '3021300906052b0e03021a05000414',
  sha224: '302d300d06096086480165030402040500041c',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
  'sha3-224': '302d300d06096086480165030402070500041c',
  'sha3-256': '3031300d060960864801650304020805000420',
  'sha3-384': '3041300d060960864801650304020905000430',
  'sha3-512': '3051300d060960864801650304020a05000440',
};

/** Signs input with a version of the key; returns the signature and, for derived Ed25519, the public key. */
export function signWith(key: TransitKey, version: number, input: Buffer, options: SignOptions): { signature: string; publickey?: string } {
  requireSigning(key);
  checkSignOptions(key, options);

  switch (key.spec.kind) {
    case 'ed25519': {
      const privateKey = ed25519Key(key, version, options.context);
      const signature = formatVersioned(version, sign(null, input, privateKey));
      if (!key.policy.derived) return { signature };
      const x = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
      return { signature, publickey: Buffer.from(x, 'base64url').toString('base64') };
    }
    case 'ecdsa': {
      const jws = options.marshalingAlgorithm === 'jws';
      const raw = sign(digestName(options.hashAlgorithm, true), input, {
        key: key.privateKey(version),
        dsaEncoding: jws ? 'ieee-p1363' : 'der',
      });
      return { signature: formatVersioned(version, raw, jws ? 'base64url' : 'base64') };
    }
    default:
      return { signature: formatVersioned(version, rsaSign(key.privateKey(version), input, options)) };
  }
}

/** Verifies a `vault:vN:` signature; a signature that does not match returns false, a malformed one throws 400. */
export function verifyWith(key: TransitKey, input: Buffer, signature: string, options: SignOptions): boolean {
  requireSigning(key);
  checkSignOptions(key, options);
  const parsed = parseVersioned(signature, 'signature');
  const version = key.decryptionVersion(parsed.version);

  switch (key.spec.kind) {
    case 'ed25519': {
      const raw = decodeBase64(parsed.payload, 'signature');
      const publicKey = key.policy.derived ? createPublicKey(ed25519Key(key, version, options.context)) : key.publicKey(version);
      try {
        return verify(null, input, publicKey, raw);
      } catch {
        return false;
      }
    }
    case 'ecdsa': {
      const jws = options.marshalingAlgorithm === 'jws';
      const raw = jws ? decodeBase64Url(parsed.payload, 'signature') : decodeBase64(parsed.payload, 'signature');
      const algorithm = digestName(options.hashAlgorithm, true);
      try {
        return verify(algorithm, input, { key: key.publicKey(version), dsaEncoding: jws ? 'ieee-p1363' : 'der' }, raw);
      } catch {
        return false;
      }
    }
    default:
      return rsaVerify(key.publicKey(version), input, decodeBase64(parsed.payload, 'signature'), options);
  }
}

function requireSigning(key: TransitKey): void {
  if (!key.spec.signing) {
    throw new BadRequestError(`key "${key.name}" of type ${key.policy.type} does not support signing`);
  }
}

function checkSignOptions(key: TransitKey, options: SignOptions): void {
  if (options.marshalingAlgorithm !== 'asn1' && options.marshalingAlgorithm !== 'jws') {
    throw new BadRequestError(`unsupported marshaling_algorithm ${JSON.stringify(options.marshalingAlgorithm.slice(0, 20))}; use asn1 or jws`);
  }
  if (options.signatureAlgorithm !== 'pss' && options.signatureAlgorithm !== 'pkcs1v15') {
    throw new BadRequestError(`unsupported signature_algorithm ${JSON.stringify(options.signatureAlgorithm.slice(0, 20))}; use pss or pkcs1v15`);
  }
  if (options.prehashed && key.spec.kind === 'ed25519') {
    throw new BadRequestError('prehashed input is not supported for ed25519 keys, which hash the input themselves');
  }
  // NOTE: node:crypto cannot sign or verify an ECDSA digest without hashing it again, so
  // prehashed ECDSA input, which Vault accepts, is rejected here.
  if (options.prehashed && key.spec.kind === 'ecdsa') {
    throw new BadRequestError('prehashed input is not supported for ECDSA keys in Coffer; send the input unhashed');
  }
  if (options.hashAlgorithm === 'none' && !(key.spec.kind === 'rsa' && options.prehashed && options.signatureAlgorithm === 'pkcs1v15')) {
    throw new BadRequestError('hash_algorithm none requires an RSA key, prehashed true and signature_algorithm pkcs1v15');
  }
}

function ed25519Key(key: TransitKey, version: number, context?: Buffer): KeyObject {
  if (!key.policy.derived) return key.privateKey(version);
  return ed25519PrivateKey(key.operationKey(version, context));
}

/** Signs with RSA-PSS or PKCS#1 v1.5; prehashed input is padded here and signed with the raw RSA operation. */
function rsaSign(privateKey: KeyObject, input: Buffer, options: SignOptions): Buffer {
  if (options.hashAlgorithm === 'none') {
    return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, input);
  }
  const digest = digestName(options.hashAlgorithm, true);
  const pss = options.signatureAlgorithm === 'pss';
  if (!options.prehashed) {
    const padding = pss ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
    const saltLength = pss ? pssSaltLength(privateKey, digest, options.saltLength, 'sign') : undefined;
    return sign(digest, input, { key: privateKey, padding, saltLength });
  }

  checkDigestLength(input, digest);
  if (!pss) {
    const digestInfo = Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[digest], 'hex'), input]);
    return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo);
  }
  const modulusBits = privateKey.asymmetricKeyDetails!.modulusLength!;
  const saltBytes = pssSaltLength(privateKey, digest, options.saltLength, 'sign');
  const encoded = pssEncode(input, digest, modulusBits - 1, saltBytes);
  const block = Buffer.concat([Buffer.alloc(Math.ceil(modulusBits / 8) - encoded.length), encoded]);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, block);
}

function rsaVerify(publicKey: KeyObject, input: Buffer, signature: Buffer, options: SignOptions): boolean {
  try {
    if (options.hashAlgorithm === 'none') {
      const recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.length === input.length && timingSafeEqual(recovered, input);
    }
    const digest = digestName(options.hashAlgorithm, true);
    const pss = options.signatureAlgorithm === 'pss';
    if (!options.prehashed) {
      const padding = pss ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
      const saltLength = pss ? pssSaltLength(publicKey, digest, options.saltLength, 'verify') : undefined;
      return verify(digest, input, { key: publicKey, padding, saltLength }, signature);
    }

    checkDigestLength(input, digest);
    if (!pss) {
      const expected = Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[digest], 'hex'), input]);
      const recovered = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
      return recovered.length === expected.length && timingSafeEqual(recovered, expected);
    }
    const modulusBits = publicKey.asymmetricKeyDetails!.modulusLength!;
    const block = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
    const encoded = block.subarray(block.length - Math.ceil((modulusBits - 1) / 8));
    const saltBytes = options.saltLength === 'auto' ? -1 : pssSaltLength(publicKey, digest, options.saltLength, 'verify');
    return pssVerify(input, encoded, digest, modulusBits - 1, saltBytes);
  } catch (err) {
    if (err instanceof BadRequestError) throw err;
    return false;
  }
}

function checkDigestLength(input: Buffer, digest: string): void {
  if (input.length !== DIGEST_BYTES[digest]) {
    throw new BadRequestError(`invalid prehashed input: expected a ${DIGEST_BYTES[digest]}-byte digest for the hash algorithm, got ${input.length} bytes`);
  }
}

/**
 * Returns the PSS salt length in bytes: `auto` is the largest salt when signing (as Go does) and
 * auto-detected when verifying, `hash` is the digest length, or a whole number within the bounds
 * the modulus allows.
 */
function pssSaltLength(key: KeyObject, digest: string, value: string, use: 'sign' | 'verify'): number {
  const hashBytes = DIGEST_BYTES[digest];
  const maxSalt = Math.ceil((key.asymmetricKeyDetails!.modulusLength! - 1) / 8) - hashBytes - 2;
  if (value === 'auto' || value === '') return use === 'sign' ? maxSalt : constants.RSA_PSS_SALTLEN_AUTO;
  if (value === 'hash') return hashBytes;
  const n = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= maxSalt)) {
    throw new BadRequestError(`invalid salt_length ${JSON.stringify(value.slice(0, 20))}: use auto, hash, or a number from 0 to ${maxSalt}`);
  }
  return n;
}

/** MGF1 mask generation (RFC 8017 appendix B.2.1) with the given digest. */
function mgf1(seed: Buffer, length: number, digest: string): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * DIGEST_BYTES[digest] < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(createHash(digest).update(seed).update(c).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** EMSA-PSS encoding of a message digest (RFC 8017 section 9.1.1, steps 3 to 12). */
function pssEncode(mHash: Buffer, digest: string, emBits: number, saltBytes: number): Buffer {
  const hLen = mHash.length;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(saltBytes);
  const h = createHash(digest).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - saltBytes - hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, db.length, digest);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS verification (RFC 8017 section 9.1.2); `saltBytes` -1 accepts any salt length. */
function pssVerify(mHash: Buffer, em: Buffer, digest: string, emBits: number, saltBytes: number): boolean {
  const hLen = mHash.length;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || em[emLen - 1] !== 0xbc) return false;
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topBits = 0xff >> (8 * emLen - emBits);
  if ((db[0] & ~topBits) !== 0) return false;
  const mask = mgf1(h, db.length, digest);
  for (let i = 0; i < db.length; i++) db[i] ^= mask[i];
  db[0] &= topBits;

  const separator = db.indexOf(1);
  if (separator < 0 || db.subarray(0, separator).some((byte) => byte !== 0)) return false;
  const salt = db.subarray(separator + 1);
  if (saltBytes >= 0 && salt.length !== saltBytes) return false;
  const expected = createHash(digest).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(expected, h);
}

/** Computes `vault:vN:<base64 HMAC>` of input with a version's HMAC key. */
export function hmacWith(key: TransitKey, version: number, input: Buffer, algorithm: string): string {
  const mac = createHmac(digestName(algorithm), key.hmacKey(version)).update(input).digest();
  return formatVersioned(version, mac);
}

/** Verifies an HMAC made by `hmacWith`, in constant time. */
export function verifyHmacWith(key: TransitKey, input: Buffer, hmac: string, algorithm: string): boolean {
  const parsed = parseVersioned(hmac, 'hmac');
  const version = key.decryptionVersion(parsed.version);
  const provided = decodeBase64(parsed.payload, 'hmac');
  const expected = createHmac(digestName(algorithm), key.hmacKey(version)).update(input).digest();
  return provided.length === expected.length && timingSafeEqual(provided, expected);
}
