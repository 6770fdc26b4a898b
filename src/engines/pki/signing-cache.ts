import { createHash } from 'node:crypto';
import { importSigningKey, type StoredKey } from './keys.js';
import { x509 } from './x509.js';

// Bounds sized for a few mounts with a handful of issuers each. A miss costs one import or parse.
const MAX_SIGNING_KEYS = 64;
const MAX_CERTIFICATES = 256;

/** A Map that drops its least recently used entry beyond `maxEntries`. */
class LruMap<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly maxEntries: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

// Entries are keyed by their source content: a SHA-256 digest of a private key, or the PEM text of
// a certificate. A changed key or issuer certificate therefore misses the cache instead of reusing
// a stale entry, and no write path has to invalidate anything.
const signingKeys = new LruMap<Promise<CryptoKey>>(MAX_SIGNING_KEYS);
const certificates = new LruMap<x509.X509Certificate>(MAX_CERTIFICATES);
const authorityKeyIds = new LruMap<Promise<x509.AuthorityKeyIdentifierExtension>>(MAX_CERTIFICATES);

/**
 * Returns the stored key imported as a non-extractable WebCrypto signing key, importing it only
 * on the first use of this exact key. Concurrent first uses share one import.
 */
export function cachedSigningKey(key: Pick<StoredKey, 'type' | 'bits' | 'privateKeyPem'>): Promise<CryptoKey> {
  // A digest, not the PEM, is the map key, so the cache keeps no copy of the private key text.
  const digest = createHash('sha256').update(`${key.type}\0${key.bits}\0${key.privateKeyPem}`).digest('base64');
  const cached = signingKeys.get(digest);
  if (cached !== undefined) return cached;

  const imported = importSigningKey(key);
  signingKeys.set(digest, imported);
  imported.catch(() => signingKeys.delete(digest));
  return imported;
}

/**
 * Returns a PEM certificate parsed, parsing each distinct PEM only once. The returned object is
 * shared between callers, who must treat it as read-only.
 */
export function parsedCertificate(pem: string): x509.X509Certificate {
  const cached = certificates.get(pem);
  if (cached !== undefined) return cached;
  const parsed = new x509.X509Certificate(pem);
  certificates.set(pem, parsed);
  return parsed;
}

/** Returns the authority key identifier extension for certificates signed by this issuer certificate. */
export function authorityKeyIdFor(issuerPem: string): Promise<x509.AuthorityKeyIdentifierExtension> {
  const cached = authorityKeyIds.get(issuerPem);
  if (cached !== undefined) return cached;

  const created = x509.AuthorityKeyIdentifierExtension.create(parsedCertificate(issuerPem).publicKey);
  authorityKeyIds.set(issuerPem, created);
  created.catch(() => authorityKeyIds.delete(issuerPem));
  return created;
}

/** Drops every cached key and certificate, as on seal or unmount. */
export function clearSigningCache(): void {
  signingKeys.clear();
  certificates.clear();
  authorityKeyIds.clear();
}
