import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { BadRequestError, InternalError } from '../../errors.js';
import type { Physical } from '../../storage/physical.js';
import { decryptEntry, encryptEntry, entryTerm } from '../barrier/entry.js';
import type { SecurityBarrier } from '../barrier/types.js';
import {
  combineShares,
  decodeShare,
  shareSize,
  splitUnsealKey,
  UNSEAL_KEY_SIZE,
} from './shamir.js';
import type { InitResult, SealConfig, UnsealProgress } from './types.js';

/** Physical path of the seal configuration, stored as plain JSON because it contains no secret. */
export const SEAL_CONFIG_PATH = 'core/seal-config';

/** Physical path of the root key, encrypted by the unseal key in the barrier's entry format. */
export const ROOT_KEY_PATH = 'core/root-key';

const ROOT_KEY_SIZE = 32;

/** Term written in the root key entry's header, because the unseal key has no terms. */
const ROOT_KEY_TERM = 0;

const MAX_SHARES = 255;

const UNSEAL_FAILED =
  'unseal failed: the keys are not valid for this server, so the unseal progress was reset; ' +
  'submit the threshold number of valid unseal keys again';

/** Seal status as `sys/seal-status` reports it. */
export type SealStatus = UnsealProgress & { initialized: boolean; type: 'shamir' };

/**
 * The Shamir seal. A random unseal key encrypts the root key, and the unseal key is split into
 * shares. Operators submit shares one at a time. Once the threshold is reached, the shares are
 * combined, the combined key decrypts the root key, and the root key unseals the barrier.
 */
export class SealManager {
  private config: SealConfig | null = null;
  private submittedShares: Buffer[] = [];
  private nonce = '';
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly physical: Physical,
    private readonly barrier: SecurityBarrier,
  ) {}

  async isInitialized(): Promise<boolean> {
    return (await this.loadConfig()) !== null;
  }

  /**
   * Initializes the seal and the barrier and returns the unseal key shares. Afterwards the barrier
   * is unsealed with the new root key (hence `rootKeyReady`), so that the caller can write the
   * root token and the default mounts. The caller then calls `seal()` to match Vault, where a
   * freshly initialized server is sealed.
   *
   * Throws a `BadRequestError` for an invalid share count or threshold, or when the server is
   * already initialized.
   */
  async initialize(options: {
    secretShares: number;
    secretThreshold: number;
  }): Promise<InitResult & { rootKeyReady: true }> {
    const config = checkSealConfig(options.secretShares, options.secretThreshold);
    return this.exclusive(async () => {
      if ((await this.isInitialized()) || (await this.barrier.initialized())) {
        throw new BadRequestError('Coffer is already initialized');
      }

      const unsealKey = randomBytes(UNSEAL_KEY_SIZE);
      const rootKey = randomBytes(ROOT_KEY_SIZE);
      let shares: Buffer[] = [];
      try {
        shares = await splitUnsealKey(unsealKey, config.secretShares, config.secretThreshold);
        await this.barrier.initialize(rootKey);
        await this.barrier.unseal(rootKey);

        // Store the configuration and the root key together as the last step. Their presence makes
        // the server count as initialized, so no later failure can lose the shares.
        // NOTE: a crash after the barrier stored its keyring and before this transaction leaves a
        // keyring without a seal, and initializing again then fails until `core/keyring` is
        // removed from physical storage.
        try {
          await this.physical.transaction([
            { op: 'put', key: SEAL_CONFIG_PATH, value: Buffer.from(JSON.stringify(config)) },
            {
              op: 'put',
              key: ROOT_KEY_PATH,
              value: encryptEntry(unsealKey, ROOT_KEY_TERM, ROOT_KEY_PATH, rootKey),
            },
          ]);
        } catch (err) {
          this.barrier.seal();
          throw new InternalError(`persisting seal configuration: ${(err as Error).message}`, {
            cause: err,
          });
        }
        this.config = config;

        return {
          keys: shares.map((share) => share.toString('hex')),
          keysBase64: shares.map((share) => share.toString('base64')),
          rootKeyReady: true,
        };
      } finally {
        unsealKey.fill(0);
        rootKey.fill(0);
        for (const share of shares) share.fill(0);
      }
    });
  }

  /**
   * Adds one unseal key share (hex or base64) to the unseal in progress and unseals the barrier
   * once the threshold is reached. `reset` discards the shares submitted so far, and takes
   * precedence over `key` as in Vault. A malformed share is rejected with a `BadRequestError`
   * and not counted, and a share already submitted is ignored. When the shares do not rebuild the
   * key that protects the root key, the progress is reset and a `BadRequestError` is thrown.
   */
  submitShare(key: string, options?: { reset?: boolean }): Promise<UnsealProgress> {
    return this.exclusive(async () => {
      if (options?.reset === true) {
        await this.loadConfig();
        this.clearProgress();
        return this.progress();
      }

      const config = await this.loadConfig();
      if (config === null) {
        throw new BadRequestError('Coffer is not initialized, so initialize it before unsealing');
      }
      if (!this.barrier.sealed) return this.progress();
      if (typeof key !== 'string') {
        throw new BadRequestError('invalid unseal key: expected a string');
      }

      const share = decodeShare(key, shareSize(config.secretShares));
      if (this.submittedShares.some((known) => timingSafeEqual(known, share))) {
        share.fill(0);
        return this.progress();
      }
      if (this.submittedShares.length === 0) this.nonce = randomUUID();
      this.submittedShares.push(share);
      if (this.submittedShares.length < config.secretThreshold) return this.progress();

      try {
        await this.unsealWithSubmittedShares();
      } finally {
        this.clearProgress();
      }
      return this.progress();
    });
  }

  async status(): Promise<SealStatus> {
    const config = await this.loadConfig();
    return {
      type: 'shamir',
      initialized: config !== null,
      ...this.progress(),
    };
  }

  /** Seals the barrier and discards the shares of any unseal in progress. */
  seal(): Promise<void> {
    return this.exclusive(async () => {
      this.barrier.seal();
      this.clearProgress();
    });
  }

  /**
   * Initializes with a single share, as dev mode does, and leaves the barrier unsealed. Returns
   * the unseal key in base64, the form Vault's dev mode prints.
   */
  async initializeAndUnsealForDev(): Promise<{ unsealKey: string }> {
    const result = await this.initialize({ secretShares: 1, secretThreshold: 1 });
    return { unsealKey: result.keysBase64[0] };
  }

  private async unsealWithSubmittedShares(): Promise<void> {
    let unsealKey: Buffer;
    try {
      unsealKey = await combineShares(this.submittedShares);
    } catch (err) {
      // The library rejects some invalid sets, such as two shares with the same x-coordinate.
      throw new BadRequestError(UNSEAL_FAILED, { cause: err });
    }

    try {
      const entry = await this.physical.get(ROOT_KEY_PATH);
      if (entry === null) {
        throw new InternalError(`unsealing: no root key is stored at "${ROOT_KEY_PATH}"`);
      }
      // A malformed entry is a storage fault (500), unlike a wrong unseal key (400).
      entryTerm(ROOT_KEY_PATH, entry);

      let rootKey: Buffer;
      try {
        rootKey = decryptEntry(unsealKey, ROOT_KEY_PATH, entry);
      } catch (err) {
        throw new BadRequestError(UNSEAL_FAILED, { cause: err });
      }
      try {
        await this.barrier.unseal(rootKey);
      } finally {
        rootKey.fill(0);
      }
    } finally {
      unsealKey.fill(0);
    }
  }

  private progress(): UnsealProgress {
    return {
      sealed: this.barrier.sealed,
      threshold: this.config?.secretThreshold ?? 0,
      shares: this.config?.secretShares ?? 0,
      progress: this.submittedShares.length,
      nonce: this.nonce,
    };
  }

  private clearProgress(): void {
    for (const share of this.submittedShares) share.fill(0);
    this.submittedShares = [];
    this.nonce = '';
  }

  /** Reads the seal configuration once and keeps it, since nothing changes it afterwards. */
  private async loadConfig(): Promise<SealConfig | null> {
    if (this.config !== null) return this.config;
    const raw = await this.physical.get(SEAL_CONFIG_PATH);
    if (raw === null) return null;

    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new InternalError(`loading seal configuration: invalid JSON`, { cause: err });
    }
    const { type, secretShares, secretThreshold } = (parsed ?? {}) as Partial<SealConfig>;
    const numeric = typeof secretShares === 'number' && typeof secretThreshold === 'number';
    if (type !== 'shamir' || !numeric) {
      throw new InternalError('loading seal configuration: unexpected shape');
    }
    this.config = { type, secretShares, secretThreshold };
    return this.config;
  }

  /** Runs `operation` after every earlier initialize, unseal and seal has settled. */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * Validates a share count and threshold by Vault's rules: 1 to 255 shares, a threshold from 1 to
 * the share count, and a threshold of 1 only with a single share.
 */
function checkSealConfig(secretShares: number, secretThreshold: number): SealConfig {
  if (!Number.isInteger(secretShares) || secretShares < 1 || secretShares > MAX_SHARES) {
    throw new BadRequestError(
      `invalid secret_shares ${String(secretShares)}: expected an integer from 1 to ${MAX_SHARES}`,
    );
  }
  if (!Number.isInteger(secretThreshold) || secretThreshold < 1) {
    throw new BadRequestError(
      `invalid secret_threshold ${String(secretThreshold)}: expected an integer of at least 1`,
    );
  }
  if (secretThreshold > secretShares) {
    throw new BadRequestError(
      `invalid secret_threshold ${secretThreshold}: ` +
        `it cannot be larger than secret_shares (${secretShares})`,
    );
  }
  if (secretShares > 1 && secretThreshold === 1) {
    throw new BadRequestError(
      'invalid secret_threshold 1: ' +
        'the threshold must be greater than 1 when secret_shares is greater than 1',
    );
  }
  return { type: 'shamir', secretShares, secretThreshold };
}
