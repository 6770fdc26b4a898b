import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto';
import { BadRequestError } from '../../errors.js';
import { KEY_TYPES, type KeyType, type KeyTypeSpec } from './key-types.js';
import { ed25519PrivateKey, ed25519PublicKey, type KeyVersion } from './material.js';

/** A named transit key as stored under `policy/NAME`: its settings and every live version. */
export interface StoredPolicy {
  name: string;
  type: KeyType;
  derived: boolean;
  /** Key derivation function of derived keys; HKDF-SHA256 is the only one Coffer implements. */
  kdf: 'hkdf_sha256';
  convergent_encryption: boolean;
  /** Vault's convergent algorithm version; Coffer implements version 3 (nonce from an HMAC). */
  convergent_version: number;
  exportable: boolean;
  allow_plaintext_backup: boolean;
  deletion_allowed: boolean;
  min_decryption_version: number;
  min_encryption_version: number;
  /** Versions below this were trimmed and no longer exist. */
  min_available_version: number;
  latest_version: number;
  /** Seconds; 0 disables automatic rotation. */
  auto_rotate_period: number;
  imported: boolean;
  allow_rotation: boolean;
  /** Set when an imported key is rotated here; `import_version` is then rejected, as in Vault. */
  imports_closed?: boolean;
  /** Key size in bytes of hmac-type keys; 0 for other types. */
  key_size: number;
  versions: Record<string, KeyVersion>;
}

/**
 * A loaded transit key: the stored policy plus decoded key objects, built once per version and
 * kept while the key stays in the cache. Instances are replaced, never changed, when the key
 * changes, so a request that has one sees a consistent keyring.
 */
export class TransitKey {
  readonly spec: KeyTypeSpec;
  private readonly privateKeys = new Map<number, KeyObject>();
  private readonly publicKeys = new Map<number, KeyObject>();

  constructor(readonly policy: StoredPolicy) {
    this.spec = KEY_TYPES[policy.type];
  }

  get name(): string {
    return this.policy.name;
  }

  /**
   * Returns the version to encrypt, sign or HMAC with: `requested` (0 means the latest), which
   * must exist and be at least `min_encryption_version`.
   */
  encryptionVersion(requested: number): number {
    const { latest_version, min_encryption_version } = this.policy;
    const version = requested > 0 ? requested : latest_version;
    if (version > latest_version) {
      throw new BadRequestError(`invalid key_version ${version}: the latest version of key "${this.name}" is ${latest_version}`);
    }
    if (min_encryption_version > 0 && version < min_encryption_version) {
      throw new BadRequestError(
        `invalid key_version ${version}: key "${this.name}" requires at least min_encryption_version ${min_encryption_version}`,
      );
    }
    this.requireVersion(version);
    return version;
  }

  /** Checks a version read from a ciphertext, signature or HMAC before it is used to decrypt or verify. */
  decryptionVersion(version: number): number {
    if (version > this.policy.latest_version || version < 1) {
      throw new BadRequestError(`invalid key version ${version} in input: key "${this.name}" has no such version`);
    }
    if (version < this.policy.min_decryption_version) {
      throw new BadRequestError(
        `key version ${version} is below min_decryption_version ${this.policy.min_decryption_version} of key "${this.name}" and is no longer allowed`,
      );
    }
    this.requireVersion(version);
    return version;
  }

  private requireVersion(version: number): KeyVersion {
    const entry = this.policy.versions[version];
    if (!entry) throw new BadRequestError(`key version ${version} of key "${this.name}" was trimmed and no longer exists`);
    return entry;
  }

  /** Returns the raw secret key of a version (AEAD key, Ed25519 seed or hmac-type key). */
  secretKey(version: number): Buffer {
    const key = this.requireVersion(version).key;
    if (!key) throw new BadRequestError(`key version ${version} of key "${this.name}" has no private key material`);
    return Buffer.from(key, 'base64');
  }

  /**
   * Returns the AEAD or Ed25519 key for a version, derived when the key is derived. The derivation
   * is HKDF-SHA256 (RFC 5869) with the version's key as input keying material, no salt, and the
   * caller's context as `info`, producing a key of the same length.
   */
  operationKey(version: number, context: Buffer | undefined): Buffer {
    const key = this.secretKey(version);
    if (!this.policy.derived) return key;
    if (!context || context.length === 0) {
      throw new BadRequestError(`missing context: key "${this.name}" is derived, so every request must include a base64 context`);
    }
    return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), context, key.length));
  }

  /** Returns the HMAC key of a version: the key itself for the hmac type. */
  hmacKey(version: number): Buffer {
    const entry = this.requireVersion(version);
    const encoded = this.policy.type === 'hmac' ? entry.key : entry.hmac_key;
    if (!encoded) throw new BadRequestError(`key version ${version} of key "${this.name}" has no HMAC key`);
    return Buffer.from(encoded, 'base64');
  }

  /** Returns the private key object of an ECDSA, RSA or (underived) Ed25519 version. */
  privateKey(version: number): KeyObject {
    let key = this.privateKeys.get(version);
    if (key) return key;

    const entry = this.requireVersion(version);
    if (this.spec.kind === 'ed25519' && entry.key) key = ed25519PrivateKey(Buffer.from(entry.key, 'base64'));
    else if (entry.private_key) key = createPrivateKey(entry.private_key);
    else throw new BadRequestError(`key version ${version} of key "${this.name}" has only a public key, so it cannot sign or decrypt`);
    this.privateKeys.set(version, key);
    return key;
  }

  /** Returns the public key object of an asymmetric version. */
  publicKey(version: number): KeyObject {
    let key = this.publicKeys.get(version);
    if (key) return key;

    const entry = this.requireVersion(version);
    if (this.spec.kind === 'ed25519') {
      const raw = Buffer.from(entry.public_key ?? ed25519PublicKey(this.secretKey(version)), 'base64');
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    } else {
      key = createPublicKey(entry.public_key!);
    }
    this.publicKeys.set(version, key);
    return key;
  }

  /** True when the key is due for automatic rotation at `nowMs`. */
  rotationDue(nowMs: number): boolean {
    const period = this.policy.auto_rotate_period;
    if (period <= 0) return false;
    if (this.policy.imported && !this.policy.allow_rotation) return false;
    const latest = this.policy.versions[this.policy.latest_version];
    if (!latest) return false;
    return nowMs - Date.parse(latest.creation_time) >= period * 1000;
  }
}

/** Builds the data of a key read, in Vault's shape. `context` selects a derived Ed25519 public key. */
export function describeKey(key: TransitKey, context?: Buffer): Record<string, unknown> {
  const { policy, spec } = key;
  const data: Record<string, unknown> = {
    name: policy.name,
    type: policy.type,
    derived: policy.derived,
    exportable: policy.exportable,
    allow_plaintext_backup: policy.allow_plaintext_backup,
    deletion_allowed: policy.deletion_allowed,
    keys: describeVersions(key, context),
    latest_version: policy.latest_version,
    min_available_version: policy.min_available_version,
    min_decryption_version: policy.min_decryption_version,
    min_encryption_version: policy.min_encryption_version,
    auto_rotate_period: policy.auto_rotate_period,
    imported_key: policy.imported,
    supports_encryption: spec.encryption,
    supports_decryption: spec.encryption,
    supports_derivation: spec.derivation,
    supports_signing: spec.signing,
  };
  if (policy.imported) data.imported_key_allow_rotation = policy.allow_rotation;
  if (policy.type === 'hmac') data.key_size = policy.key_size;
  if (policy.derived) {
    data.kdf = policy.kdf;
    data.convergent_encryption = policy.convergent_encryption;
    if (policy.convergent_encryption) data.convergent_encryption_version = policy.convergent_version;
  }
  return data;
}

/**
 * Lists the versions: creation time in Unix seconds for symmetric keys, and for asymmetric keys an
 * object with the public key (PEM, or base64 for Ed25519) as Vault returns it.
 */
function describeVersions(key: TransitKey, context?: Buffer): Record<string, unknown> {
  const versions: Record<string, unknown> = {};
  for (const [version, entry] of Object.entries(key.policy.versions)) {
    const seconds = Math.floor(Date.parse(entry.creation_time) / 1000);
    if (key.spec.kind === 'aead' || key.spec.kind === 'hmac') {
      versions[version] = seconds;
      continue;
    }
    versions[version] = {
      name: algorithmName(key),
      creation_time: entry.creation_time,
      public_key: publicKeyText(key, Number(version), entry, context),
    };
  }
  return versions;
}

/** Returns the algorithm name Vault shows per version: ed25519, the curve, or the RSA type. */
function algorithmName(key: TransitKey): string {
  if (key.spec.kind === 'ecdsa') return key.spec.curve!;
  if (key.spec.kind === 'ed25519') return 'ed25519';
  return key.policy.type;
}

function publicKeyText(key: TransitKey, version: number, entry: KeyVersion, context?: Buffer): string {
  if (key.spec.kind !== 'ed25519') return entry.public_key ?? '';
  if (!key.policy.derived) return entry.public_key ?? '';
  // A derived Ed25519 key has one public key per context, so there is none to show without one.
  if (!context || context.length === 0) return '';
  return ed25519PublicKey(key.operationKey(version, context));
}
