import { BadRequestError } from '../../errors.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import type { ResponseEnvelope } from '../answer.js';
import type { TokenEntry, TokenStore } from '../token/store.js';

/** Key of the wrapped response in a wrapping token's cubbyhole. */
const RESPONSE_KEY = 'response';

/** A wrapped response with its wrapping details, as the cubbyhole stores it. */
interface WrappedResponse {
  creationPath: string;
  creationTime: string;
  ttl: number;
  envelope: ResponseEnvelope;
}

/** Wraps responses in single-use tokens and unwraps them; the response sits in the token's cubbyhole. */
export class ResponseWrapper {
  constructor(
    private readonly tokens: TokenStore,
    /** The cubbyhole mount's storage; each token's keys live under its id. */
    private readonly cubbyhole: () => Storage,
  ) {}

  /** Stores the envelope under a new wrapping token and returns the envelope that replaces it. */
  async wrap(envelope: ResponseEnvelope, ttl: number, creationPath: string): Promise<ResponseEnvelope> {
    if (ttl <= 0) throw new BadRequestError('invalid wrapping TTL: it must be at least one second');
    const { token, entry } = await this.tokens.create({
      policies: ['response-wrapping'],
      path: creationPath,
      ttl,
      numUses: 1,
      renewable: false,
      orphan: true,
      displayName: 'response-wrapping',
    });
    const creationTime = new Date(entry.creationTime * 1000).toISOString();
    const stored: WrappedResponse = { creationPath, creationTime, ttl, envelope };
    await putJson(this.cubbyhole(), `${entry.id}/${RESPONSE_KEY}`, stored);

    const wrappedAccessor = typeof envelope.auth?.accessor === 'string' ? envelope.auth.accessor : '';
    return {
      request_id: envelope.request_id,
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: null,
      wrap_info: {
        token,
        accessor: entry.accessor,
        ttl,
        creation_time: creationTime,
        creation_path: creationPath,
        ...(wrappedAccessor ? { wrapped_accessor: wrappedAccessor } : {}),
      },
      warnings: null,
      auth: null,
      mount_type: envelope.mount_type,
    };
  }

  /** Looks a wrapping token up without using it. */
  async lookup(token: string): Promise<{ creation_path: string; creation_time: string; creation_ttl: number }> {
    const { stored } = await this.load(token);
    return { creation_path: stored.creationPath, creation_time: stored.creationTime, creation_ttl: stored.ttl };
  }

  /** Returns the wrapped envelope and revokes the wrapping token, so a second unwrap fails. */
  async unwrap(token: string): Promise<ResponseEnvelope> {
    const { stored, entry } = await this.take(token);
    await this.tokens.revokeTree(entry);
    return stored.envelope;
  }

  /** Moves a wrapped response to a new wrapping token with the same TTL. */
  async rewrap(token: string): Promise<ResponseEnvelope> {
    const { stored, entry } = await this.take(token);
    const rewrapped = await this.wrap(stored.envelope, stored.ttl, stored.creationPath);
    await this.tokens.revokeTree(entry);
    return rewrapped;
  }

  /** Loads and deletes the wrapped response under the token's lock, so only one caller gets it. */
  private take(token: string): Promise<{ stored: WrappedResponse; entry: TokenEntry }> {
    const id = token ? this.tokens.hashToken(token) : '';
    return this.tokens.withLock(id, async () => {
      const loaded = await this.load(token);
      await this.cubbyhole().delete(`${loaded.entry.id}/${RESPONSE_KEY}`);
      return loaded;
    });
  }

  private async load(token: string): Promise<{ stored: WrappedResponse; entry: TokenEntry }> {
    // A wrapping token presented as the client token has spent its single use on this request.
    const entry = token && !token.startsWith('hvb.') ? await this.tokens.lookupById(this.tokens.hashToken(token), { allowExhausted: true }) : null;
    const stored = entry && entry.policies.includes('response-wrapping') ? await getJson<WrappedResponse>(this.cubbyhole(), `${entry.id}/${RESPONSE_KEY}`) : null;
    if (!entry || !stored) throw new BadRequestError('wrapping token is not valid or does not exist');
    return { stored, entry };
  }
}
