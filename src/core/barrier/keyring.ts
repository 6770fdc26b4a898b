import { randomBytes } from 'node:crypto';
import { InternalError } from '../../errors.js';
import { KEY_SIZE } from './entry.js';

/** One encryption key of the keyring and the term that names it in entry headers. */
export interface TermKey {
  term: number;
  key: Buffer;
  installTime: Date;
}

// Serialized layout: version (1 byte) | active term (uint32) | key count (uint32), then for each
// key: term (uint32) | install time in ms since the epoch (float64) | key (32 bytes). All numbers
// are big-endian. A binary layout, unlike JSON, keeps key bytes out of immutable strings, so the
// serialized buffer can be zeroed after use.
const KEYRING_VERSION = 1;
const PREFIX_SIZE = 9;
const RECORD_SIZE = 4 + 8 + KEY_SIZE;

/** The barrier's encryption keys by term, and the active term used for new writes. */
export class Keyring {
  private constructor(
    readonly activeTerm: number,
    private readonly keys: ReadonlyMap<number, TermKey>,
  ) {}

  /** Creates a keyring with one fresh random key at term 1. */
  static create(): Keyring {
    const first: TermKey = { term: 1, key: randomBytes(KEY_SIZE), installTime: new Date() };
    return new Keyring(1, new Map([[1, first]]));
  }

  /**
   * Returns a keyring with a fresh key at the next term, made active. The new keyring shares the
   * older key buffers with this one, so zero only one of the two.
   */
  withNewTerm(): Keyring {
    const term = this.activeTerm + 1;
    const keys = new Map(this.keys);
    keys.set(term, { term, key: randomBytes(KEY_SIZE), installTime: new Date() });
    return new Keyring(term, keys);
  }

  /** Returns the key of `term`, or undefined when the keyring has no such term. */
  key(term: number): Buffer | undefined {
    return this.keys.get(term)?.key;
  }

  active(): TermKey {
    return this.keys.get(this.activeTerm) as TermKey;
  }

  /** Serializes the keyring. The caller should zero the result once it is encrypted. */
  serialize(): Buffer {
    const out = Buffer.alloc(PREFIX_SIZE + this.keys.size * RECORD_SIZE);
    out[0] = KEYRING_VERSION;
    out.writeUInt32BE(this.activeTerm, 1);
    out.writeUInt32BE(this.keys.size, 5);
    let offset = PREFIX_SIZE;
    for (const { term, key, installTime } of this.keys.values()) {
      out.writeUInt32BE(term, offset);
      out.writeDoubleBE(installTime.getTime(), offset + 4);
      key.copy(out, offset + 12);
      offset += RECORD_SIZE;
    }
    return out;
  }

  /** Parses a serialized keyring into copies of its keys, so the caller may zero `data`. */
  static deserialize(data: Buffer): Keyring {
    if (data.length < PREFIX_SIZE || data[0] !== KEYRING_VERSION) {
      throw new InternalError('loading keyring: unsupported keyring format');
    }
    const activeTerm = data.readUInt32BE(1);
    const count = data.readUInt32BE(5);
    if (data.length !== PREFIX_SIZE + count * RECORD_SIZE) {
      throw new InternalError(`loading keyring: length does not match its ${count} keys`);
    }

    const keys = new Map<number, TermKey>();
    for (let offset = PREFIX_SIZE; offset < data.length; offset += RECORD_SIZE) {
      const term = data.readUInt32BE(offset);
      const installTime = new Date(data.readDoubleBE(offset + 4));
      const key = Buffer.alloc(KEY_SIZE);
      data.copy(key, 0, offset + 12, offset + RECORD_SIZE);
      keys.set(term, { term, key, installTime });
    }
    if (!keys.has(activeTerm)) {
      throw new InternalError(`loading keyring: active term ${activeTerm} has no key`);
    }
    return new Keyring(activeTerm, keys);
  }

  /** Overwrites every key buffer with zeros. */
  zero(): void {
    for (const { key } of this.keys.values()) key.fill(0);
  }
}
