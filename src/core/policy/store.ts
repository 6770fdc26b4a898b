import { BadRequestError, InternalError } from '../../errors.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import { compileAcl, type Acl } from './acl.js';
import {
  DEFAULT_POLICY_NAME,
  DEFAULT_POLICY_TEXT,
  IMMUTABLE_POLICY_NAMES,
  RESPONSE_WRAPPING_POLICY_NAME,
  RESPONSE_WRAPPING_POLICY_TEXT,
  ROOT_POLICY_NAME,
} from './builtin.js';
import { parsePolicy } from './parse.js';
import type { Policy, TemplateIdentity } from './types.js';

/** A policy as stored, with its parsed form. */
export interface StoredPolicy {
  name: string;
  raw: string;
  policy: Policy;
}

/** The JSON entry kept under `policy/NAME`. */
interface PolicyEntry {
  name: string;
  raw: string;
}

const KEY_PREFIX = 'policy/';
const MAX_NAME_LENGTH = 256;
const NAME_PATTERN = /^[a-z0-9._-]+$/;

/** Compiled ACLs kept per set of policy names; the oldest is dropped beyond this. */
const MAX_CACHED_ACLS = 1024;

/**
 * Lower-cases a policy name and checks it. Names may use letters, digits, `.`, `_` and `-`.
 * Vault accepts more characters, but a `/` would nest storage keys, so Coffer rejects it.
 */
export function normalizePolicyName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 0 || lower.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(lower) || lower === '.' || lower === '..') {
    throw new BadRequestError(
      `invalid policy name ${JSON.stringify(name.slice(0, 80))}: use 1 to ${MAX_NAME_LENGTH} letters, digits, ".", "_" or "-"`,
    );
  }
  return lower;
}

/**
 * Stores ACL policies and compiles them into ACLs. Parsed policies and compiled ACLs are cached
 * and dropped on every write or delete. A generation counter keeps a read that raced with a write
 * from caching the old version.
 */
export class PolicyStore {
  /** Parsed policies by name; null records a name with nothing stored. */
  private readonly policies = new Map<string, StoredPolicy | null>();
  private readonly acls = new Map<string, Acl>();
  /**
   * Compiled ACLs of untemplated policy sets, keyed by the names exactly as a token lists them,
   * so a request whose set is compiled finds its ACL without normalizing or loading anything.
   */
  private readonly aclsByTokenNames = new Map<string, Acl>();
  private generation = 0;
  private defaultReady: Promise<void> | null = null;
  private responseWrapping: Promise<Policy> | null = null;

  constructor(private readonly storage: Storage) {}

  /** Returns a stored policy, or null. `root` is built in and has no stored text, so it returns null. */
  async get(name: string): Promise<StoredPolicy | null> {
    const normalized = normalizePolicyName(name);
    if (normalized === ROOT_POLICY_NAME || normalized === RESPONSE_WRAPPING_POLICY_NAME) return null;
    await this.ensureDefault();
    return this.load(normalized);
  }

  /** Parses and stores a policy; throws a 400 naming the line when the text is invalid. */
  async set(name: string, text: string): Promise<void> {
    const normalized = normalizePolicyName(name);
    if (IMMUTABLE_POLICY_NAMES.has(normalized)) {
      throw new BadRequestError(`cannot update the built-in "${normalized}" policy`);
    }
    const policy = await parsePolicy(normalized, text);
    await this.ensureDefault();

    const entry: PolicyEntry = { name: normalized, raw: policy.raw };
    try {
      await putJson(this.storage, KEY_PREFIX + normalized, entry);
    } finally {
      this.invalidate();
    }
  }

  /** Deletes a policy. Deleting a missing policy succeeds, as in Vault. */
  async delete(name: string): Promise<void> {
    const normalized = normalizePolicyName(name);
    if (IMMUTABLE_POLICY_NAMES.has(normalized) || normalized === DEFAULT_POLICY_NAME) {
      throw new BadRequestError(`cannot delete the built-in "${normalized}" policy`);
    }
    try {
      await this.storage.delete(KEY_PREFIX + normalized);
    } finally {
      this.invalidate();
    }
  }

  /** Lists policy names in byte order, `root` included, paged by `after` (exclusive) and `limit`. */
  async list(options: { after?: string; limit?: number } = {}): Promise<string[]> {
    await this.ensureDefault();
    const stored = await this.storage.list(KEY_PREFIX);
    const names = [...new Set([...stored.filter((key) => !key.endsWith('/')), ROOT_POLICY_NAME])].sort();
    const after = options.after;
    const start = after === undefined ? 0 : names.findIndex((name) => name > after);
    const page = start < 0 ? [] : names.slice(start);
    return options.limit !== undefined && options.limit > 0 ? page.slice(0, options.limit) : page;
  }

  /**
   * Compiles the named policies into an ACL. Names with nothing stored, and invalid names, are
   * skipped, as Vault skips missing policies. `root` yields the root ACL.
   */
  acl(names: string[], identity?: TemplateIdentity): Promise<Acl> {
    // JSON keeps the key unambiguous even for names that contain the separator of a join.
    const tokenKey = JSON.stringify(names);
    const cached = this.aclsByTokenNames.get(tokenKey);
    if (cached !== undefined) return Promise.resolve(cached);
    return this.compileAcl(names, tokenKey, identity);
  }

  private async compileAcl(names: string[], tokenKey: string, identity?: TemplateIdentity): Promise<Acl> {
    const normalized = [...new Set(names.map((name) => name.toLowerCase()))].sort();
    const generation = this.generation;
    const policies: Policy[] = [];
    for (const name of normalized) {
      const policy = await this.policyForAcl(name);
      if (policy !== null) policies.push(policy);
    }

    const templated = policies.some((policy) => policy.templated);
    const cacheKey = JSON.stringify(normalized) + (templated ? `\u0000${stableJson(identity ?? null)}` : '');
    let acl = this.acls.get(cacheKey);
    if (acl !== undefined && generation === this.generation) {
      this.acls.delete(cacheKey);
    } else {
      acl = compileAcl(policies, templated ? identity : undefined);
    }

    // A write during the loads above bumped the generation, so this ACL may be stale: keep it out.
    if (generation === this.generation) {
      remember(this.acls, cacheKey, acl);
      if (!templated) remember(this.aclsByTokenNames, tokenKey, acl);
    }
    return acl;
  }

  private async policyForAcl(name: string): Promise<Policy | null> {
    if (name === ROOT_POLICY_NAME) return { name, raw: '', paths: [], templated: false };
    if (name === RESPONSE_WRAPPING_POLICY_NAME) {
      this.responseWrapping ??= parsePolicy(RESPONSE_WRAPPING_POLICY_NAME, RESPONSE_WRAPPING_POLICY_TEXT);
      return this.responseWrapping;
    }
    if (!NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH) return null;
    if (name === DEFAULT_POLICY_NAME) await this.ensureDefault();
    const stored = await this.load(name);
    return stored?.policy ?? null;
  }

  private async load(name: string): Promise<StoredPolicy | null> {
    const cached = this.policies.get(name);
    if (cached !== undefined) return cached;

    const generation = this.generation;
    const entry = await getJson<PolicyEntry>(this.storage, KEY_PREFIX + name);
    let stored: StoredPolicy | null = null;
    if (entry !== null) {
      try {
        stored = { name, raw: entry.raw, policy: await parsePolicy(name, entry.raw) };
      } catch (err) {
        // Skipping a policy that no longer parses could drop a deny rule, so the request fails.
        throw new InternalError(`stored policy "${name}" failed to parse`, { cause: err });
      }
    }
    if (generation === this.generation) this.policies.set(name, stored);
    return stored;
  }

  /** Writes the built-in default policy once, unless a default policy is already stored. */
  private ensureDefault(): Promise<void> {
    this.defaultReady ??= (async () => {
      const existing = await this.storage.get(KEY_PREFIX + DEFAULT_POLICY_NAME);
      if (existing !== null) return;
      await putJson(this.storage, KEY_PREFIX + DEFAULT_POLICY_NAME, { name: DEFAULT_POLICY_NAME, raw: DEFAULT_POLICY_TEXT });
      this.invalidate();
    })().catch((err: unknown) => {
      this.defaultReady = null;
      throw err;
    });
    return this.defaultReady;
  }

  private invalidate(): void {
    this.generation++;
    this.policies.clear();
    this.acls.clear();
    this.aclsByTokenNames.clear();
  }
}

/** Adds an entry as the newest and drops the oldest beyond `MAX_CACHED_ACLS`. */
function remember(cache: Map<string, Acl>, key: string, acl: Acl): void {
  cache.set(key, acl);
  if (cache.size > MAX_CACHED_ACLS) cache.delete(cache.keys().next().value as string);
}

/** Serializes a value with object keys sorted, so equal identities give equal cache keys. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
