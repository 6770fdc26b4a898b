import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  sign,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import { x509 } from './x509.js';
import { BadRequestError } from '../../errors.js';

/** Key algorithms the engine generates and accepts, by Vault's names. */
export type KeyType = 'rsa' | 'ec' | 'ed25519';

/** A private key as the engine stores it: PKCS#8 PEM plus its type and size. */
export interface StoredKey {
  id: string;
  name: string;
  type: KeyType;
  /** RSA modulus bits, EC curve bits, or 0 for Ed25519. */
  bits: number;
  privateKeyPem: string;
}

const EC_CURVES: Record<number, string> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };
const CURVE_BITS: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };
const EC_HASH: Record<number, string> = { 256: 'SHA-256', 384: 'SHA-384', 521: 'SHA-512' };

/** Checks a requested key type and size, and fills Vault's default size (RSA 2048, EC 256). */
export function normalizeKeyParams(type: string, bits: number): { type: KeyType; bits: number } {
  if (type === 'rsa') {
    const size = bits === 0 ? 2048 : bits;
    if (![2048, 3072, 4096, 8192].includes(size)) {
      throw new BadRequestError(`invalid key_bits ${bits} for key_type "rsa": use 2048, 3072, 4096 or 8192`);
    }
    return { type, bits: size };
  }
  if (type === 'ec') {
    const size = bits === 0 ? 256 : bits;
    if (!EC_CURVES[size]) throw new BadRequestError(`invalid key_bits ${bits} for key_type "ec": use 256, 384 or 521`);
    return { type, bits: size };
  }
  if (type === 'ed25519') return { type, bits: 0 };
  throw new BadRequestError(`invalid key_type "${type}": use rsa, ec or ed25519`);
}

/** Generates a key pair with node:crypto and returns the private key as PKCS#8 PEM. */
export function generatePrivateKey(type: KeyType, bits: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _publicKey: KeyObject, privateKey: KeyObject) => {
      if (err) reject(err);
      else resolve(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    };
    if (type === 'rsa') generateKeyPair('rsa', { modulusLength: bits }, done);
    else if (type === 'ec') generateKeyPair('ec', { namedCurve: EC_CURVES[bits]! }, done);
    else generateKeyPair('ed25519', {}, done);
  });
}

/** Describes a public or private key object as Vault's key type and size. */
export function describeKey(key: KeyObject): { type: KeyType; bits: number } {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { type: 'rsa', bits: details.modulusLength ?? 0 };
    case 'ec': {
      const bits = CURVE_BITS[details.namedCurve ?? ''];
      if (!bits) throw new BadRequestError(`unsupported EC curve "${details.namedCurve}": use P-256, P-384 or P-521`);
      return { type: 'ec', bits };
    }
    case 'ed25519':
      return { type: 'ed25519', bits: 0 };
    default:
      throw new BadRequestError(`unsupported key algorithm "${key.asymmetricKeyType}": use rsa, ec or ed25519`);
  }
}

/** Parses a PEM private key in PKCS#8, PKCS#1 or SEC1 form and returns it as PKCS#8 PEM. */
export function normalizePrivateKeyPem(pem: string): { pem: string; type: KeyType; bits: number } {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new BadRequestError('invalid private key in the PEM bundle: expected PKCS#8, PKCS#1 or SEC1 PEM', { cause: err });
  }
  const described = describeKey(key);
  return { pem: key.export({ type: 'pkcs8', format: 'pem' }).toString(), ...described };
}

/** Returns the WebCrypto algorithm that signs with a key of this type and size. */
export function signingAlgorithm(type: KeyType, bits: number): Algorithm & Record<string, unknown> {
  if (type === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  if (type === 'ec') return { name: 'ECDSA', hash: EC_HASH[bits] ?? 'SHA-256' };
  return { name: 'Ed25519' };
}

/** Imports a stored private key as a WebCrypto signing key for @peculiar/x509. */
export async function importSigningKey(key: Pick<StoredKey, 'type' | 'bits' | 'privateKeyPem'>): Promise<CryptoKey> {
  const der = createPrivateKey(key.privateKeyPem).export({ type: 'pkcs8', format: 'der' });
  const algorithm =
    key.type === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : key.type === 'ec'
        ? { name: 'ECDSA', namedCurve: EC_CURVES[key.bits]! }
        : { name: 'Ed25519' };
  return (await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign'])) as CryptoKey;
}

/** Returns the public key of a stored private key as @peculiar/x509's PublicKey. */
export function publicKeyOf(privateKeyPem: string): x509.PublicKey {
  const spki = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  return new x509.PublicKey(spki);
}

/** Returns the public key of a certificate or CSR as a node:crypto KeyObject. */
export function keyObjectOf(publicKey: x509.PublicKey): KeyObject {
  return createPublicKey({ key: Buffer.from(publicKey.rawData), format: 'der', type: 'spki' });
}

/** True when the private key belongs to the public key, by comparing their SPKI encodings. */
export function keyMatches(privateKeyPem: string, publicKey: x509.PublicKey): boolean {
  const spki = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  return spki.equals(Buffer.from(publicKey.rawData));
}

/**
 * Signs bytes with a stored key through node:crypto, which encodes ECDSA signatures as DER as
 * X.509 and OCSP expect. Returns the signature and the ASN.1 algorithm identifier to send with it.
 */
export function signDetached(key: Pick<StoredKey, 'type' | 'bits' | 'privateKeyPem'>, data: Buffer) {
  const algorithm = signingAlgorithm(key.type, key.bits);
  const hash = key.type === 'ed25519' ? null : String(algorithm.hash).replace('-', '').toLowerCase();
  const signature = sign(hash, data, createPrivateKey(key.privateKeyPem));
  const normalized = { ...algorithm, hash: algorithm.hash ? { name: algorithm.hash } : undefined };
  const identifier = new x509.AlgorithmProvider().toAsnAlgorithm(normalized as Algorithm);
  return { signature, identifier };
}

/**
 * Formats the private key as a response returns it: `pem` gives PKCS#1 for RSA and SEC1 for EC as
 * Vault does, `pkcs8` gives PKCS#8 PEM, and `der` gives base64 DER in the `pem` layout.
 */
export function exportPrivateKey(privateKeyPem: string, type: KeyType, format: string): string {
  const key = createPrivateKey(privateKeyPem);
  let layout: 'pkcs8' | 'pkcs1' | 'sec1' = 'sec1';
  if (format === 'pkcs8' || type === 'ed25519') layout = 'pkcs8';
  else if (type === 'rsa') layout = 'pkcs1';
  if (format === 'der') return key.export({ type: layout, format: 'der' }).toString('base64');
  return key.export({ type: layout, format: 'pem' }).toString().trimEnd();
}

/**
 * Returns a random positive serial number of 20 bytes as hex, the largest size RFC 5280 allows.
 * The first byte lies in 0x01..0x7f, so the DER integer needs no padding byte and no byte is lost.
 */
export function newSerialHex(): string {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** Formats a hex serial as Vault shows it: lowercase byte pairs joined by colons. */
export function formatSerial(hex: string): string {
  const even = hex.length % 2 === 1 ? `0${hex}` : hex;
  return even.toLowerCase().match(/../g)!.join(':');
}

/**
 * Normalizes a serial from a request (colons, hyphens or bare hex) to Vault's colon form, or
 * throws 400.
 */
export function parseSerial(value: string): string {
  const hex = value.trim().replace(/[:-]/g, '').toLowerCase();
  if (hex === '' || !/^[0-9a-f]+$/.test(hex)) {
    throw new BadRequestError(`invalid serial_number "${value.slice(0, 80)}": use hex byte pairs such as 1a:2b:3c`);
  }
  return formatSerial(hex.replace(/^(00)+(?=..)/, ''));
}

/** Imports a stored private key and its public key as a WebCrypto key pair, as CSR generation needs. */
export async function importKeyPair(key: Pick<StoredKey, 'type' | 'bits' | 'privateKeyPem'>): Promise<CryptoKeyPair> {
  const spki = createPublicKey(key.privateKeyPem).export({ type: 'spki', format: 'der' });
  const algorithm =
    key.type === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : key.type === 'ec'
        ? { name: 'ECDSA', namedCurve: EC_CURVES[key.bits]! }
        : { name: 'Ed25519' };
  const publicKey = (await webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify'])) as CryptoKey;
  return { privateKey: await importSigningKey(key), publicKey };
}
