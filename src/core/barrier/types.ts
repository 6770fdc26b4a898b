import type { Storage } from '../../storage/storage.js';

/** Status of the barrier's current encryption key, as `sys/key-status` reports it. */
export interface KeyStatus {
  term: number;
  installTime: Date;
  encryptions: number;
}

/**
 * The security barrier: every value written through it is encrypted with the keyring's active
 * term key (AES-256-GCM, fresh 96-bit nonce, the storage path as associated data) before it reaches
 * physical storage. While sealed, every storage call throws `SealedError`.
 */
export interface SecurityBarrier extends Storage {
  readonly sealed: boolean;
  /** True once a keyring is stored. */
  initialized(): Promise<boolean>;
  /** Creates and stores a new keyring encrypted by the 32-byte root key. Leaves the barrier sealed. */
  initialize(rootKey: Buffer): Promise<void>;
  /** Decrypts the keyring with the root key; throws a clear error when the key is wrong. */
  unseal(rootKey: Buffer): Promise<void>;
  /** Forgets the keyring and every decrypted key. */
  seal(): void;
  /** Adds a new term key used for all new writes; old terms still decrypt. Returns the status. */
  rotate(): Promise<KeyStatus>;
  keyStatus(): KeyStatus;
}
