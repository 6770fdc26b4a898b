import type { Operation } from '../../framework/types.js';
import { checkParameters } from './parameters.js';
import { hasTemplate, renderTemplatedPath } from './template.js';
import {
  CAPABILITIES,
  type Capability,
  type ParameterValue,
  type PathRule,
  type Policy,
  type TemplateIdentity,
} from './types.js';

/** The outcome of an ACL check for one request. */
export interface AclResult {
  allowed: boolean;
  /** True when the matched rule grants `sudo` (always for root). */
  sudo: boolean;
  /** Capabilities of the matched rule, sorted; `["root"]` for root, `["deny"]` when none. */
  capabilities: string[];
  /** Seconds; set when the matched rule bounds response wrapping. */
  minWrappingTtl?: number;
  maxWrappingTtl?: number;
  /** Reason for a denial. It is safe to log because it never contains parameter values. */
  reason?: string;
}

/** A compiled set of policies that decides authorization checks. */
export interface Acl {
  /** True when the root policy is among the policies. */
  readonly root: boolean;
  /** Decides whether `operation` on `path` with request `data` is allowed. */
  check(path: string, operation: Operation, data?: Record<string, unknown>): AclResult;
  /** Returns the capabilities on a path as `sys/capabilities` reports them. */
  capabilities(path: string): string[];
  /** True when some rule grants a capability on the prefix or on a path below it. */
  hasAnyCapabilityUnder(prefix: string): boolean;
}

const CAPABILITY_BITS = Object.fromEntries(CAPABILITIES.map((name, i) => [name, 1 << i])) as Record<Capability, number>;
const DENY = CAPABILITY_BITS.deny;
const SUDO = CAPABILITY_BITS.sudo;

/** Operations whose parameters `required_parameters`, `allowed_parameters` and `denied_parameters` constrain. */
const PARAMETER_CHECKED_OPERATIONS = new Set<Operation>(['create', 'update', 'patch']);

/** The merged rules of every policy path with the same pattern. */
interface Permissions {
  bits: number;
  required: Set<string>;
  allowed: Map<string, ParameterValue[]>;
  denied: Map<string, ParameterValue[]>;
  minWrappingTtl: number;
  maxWrappingTtl: number;
}

/** A non-exact pattern with the keys of Vault's documented priority order. */
interface RankedPattern {
  /** The pattern without its trailing `*`. */
  base: string;
  isPrefix: boolean;
  /** Character index of the first `+` segment or of the trailing `*`. */
  firstWildcard: number;
  plusCount: number;
  /** Segments of `base`, for `+` patterns only. */
  segments: string[];
  permissions: Permissions;
}

interface TrieNode {
  children: Map<string, TrieNode>;
  pattern?: RankedPattern;
}

/**
 * Compiles policies into an ACL. Paths with the same pattern are merged: capabilities are joined,
 * parameter lists merged, and `deny` clears everything else. Templated paths are filled from
 * `identity`, and a path whose template cannot be filled is left out.
 */
export function compileAcl(policies: Policy[], identity?: TemplateIdentity): Acl {
  if (policies.some((policy) => policy.name === 'root')) return ROOT_ACL;

  const merged = new Map<string, Permissions>();
  for (const policy of policies) {
    for (const rule of policy.paths) {
      const path = hasTemplate(rule.path) ? renderTemplatedPath(rule.path, identity) : rule.path;
      if (path === null) continue;
      const existing = merged.get(path);
      if (existing === undefined) merged.set(path, permissionsOf(rule));
      else mergeInto(existing, rule);
    }
  }
  return new CompiledAcl(merged);
}

function permissionsOf(rule: PathRule): Permissions {
  const permissions: Permissions = {
    bits: 0,
    required: new Set(),
    allowed: new Map(),
    denied: new Map(),
    minWrappingTtl: 0,
    maxWrappingTtl: 0,
  };
  mergeInto(permissions, rule);
  return permissions;
}

function mergeInto(target: Permissions, rule: PathRule): void {
  if (target.bits & DENY) return;
  const bits = rule.capabilities.reduce((sum, name) => sum | CAPABILITY_BITS[name], 0);
  if (bits & DENY) {
    target.bits = DENY;
    target.required.clear();
    target.allowed.clear();
    target.denied.clear();
    target.minWrappingTtl = 0;
    target.maxWrappingTtl = 0;
    return;
  }

  target.bits |= bits;
  for (const name of rule.requiredParameters) target.required.add(name);
  mergeParameterMap(target.allowed, rule.allowedParameters);
  mergeParameterMap(target.denied, rule.deniedParameters);
  // When stanzas merge, the lowest bound of each kind wins, as Vault documents.
  target.minWrappingTtl = lowestBound(target.minWrappingTtl, rule.minWrappingTtl);
  target.maxWrappingTtl = lowestBound(target.maxWrappingTtl, rule.maxWrappingTtl);
}

/** Merges value lists per parameter; an empty list means any value and absorbs the other list. */
function mergeParameterMap(target: Map<string, ParameterValue[]>, source: ReadonlyMap<string, ParameterValue[]>): void {
  for (const [name, values] of source) {
    const existing = target.get(name);
    if (existing === undefined) target.set(name, [...values]);
    else if (existing.length === 0 || values.length === 0) target.set(name, []);
    else existing.push(...values);
  }
}

function lowestBound(current: number, next: number): number {
  if (current === 0) return next;
  if (next === 0) return current;
  return Math.min(current, next);
}

function capabilityNames(bits: number): string[] {
  return CAPABILITIES.filter((name) => bits & CAPABILITY_BITS[name]).sort();
}

/**
 * Compares two non-exact patterns by Vault's documented priority: a later first wildcard wins,
 * then a pattern without a trailing `*`, then fewer `+` segments, then the longer pattern, then
 * the lexicographically larger one. Returns a positive number when `a` has the higher priority.
 */
function comparePriority(a: RankedPattern, b: RankedPattern): number {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard - b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix ? -1 : 1;
  if (a.plusCount !== b.plusCount) return b.plusCount - a.plusCount;
  if (a.base.length !== b.base.length) return a.base.length - b.base.length;
  if (a.base === b.base) return 0;
  return a.base > b.base ? 1 : -1;
}

class CompiledAcl implements Acl {
  readonly root = false;
  private readonly exact = new Map<string, Permissions>();
  /** Pure prefix globs (`secret/foo*`) in a character trie, for longest-prefix lookup. */
  private readonly prefixes: TrieNode = { children: new Map() };
  /** Patterns with `+` segments, highest priority first. */
  private readonly segmentPatterns: RankedPattern[] = [];

  constructor(private readonly merged: Map<string, Permissions>) {
    for (const [pattern, permissions] of merged) this.add(pattern, permissions);
    this.segmentPatterns.sort((a, b) => comparePriority(b, a));
  }

  check(path: string, operation: Operation, data: Record<string, unknown> = {}): AclResult {
    const permissions = this.lookup(path, operation === 'list');
    if (permissions === undefined) {
      return { allowed: false, sudo: false, capabilities: ['deny'], reason: 'no policy grants access to this path' };
    }
    if (permissions.bits & DENY) {
      return { allowed: false, sudo: false, capabilities: ['deny'], reason: 'a policy explicitly denies this path' };
    }

    const capabilities = capabilityNames(permissions.bits);
    const sudo = (permissions.bits & SUDO) !== 0;
    if (!(permissions.bits & CAPABILITY_BITS[operation])) {
      return { allowed: false, sudo, capabilities, reason: `the "${operation}" capability is not granted on this path` };
    }
    if (PARAMETER_CHECKED_OPERATIONS.has(operation)) {
      const problem = checkParameters(permissions, data);
      if (problem !== null) return { allowed: false, sudo, capabilities, reason: problem };
    }

    const result: AclResult = { allowed: true, sudo, capabilities };
    if (permissions.minWrappingTtl > 0) result.minWrappingTtl = permissions.minWrappingTtl;
    if (permissions.maxWrappingTtl > 0) result.maxWrappingTtl = permissions.maxWrappingTtl;
    return result;
  }

  capabilities(path: string): string[] {
    const permissions = this.lookup(path, false);
    if (permissions === undefined || permissions.bits & DENY || permissions.bits === 0) return ['deny'];
    return capabilityNames(permissions.bits);
  }

  hasAnyCapabilityUnder(prefix: string): boolean {
    const prefixSegments = prefix.split('/');
    for (const [pattern, permissions] of this.merged) {
      if (permissions.bits === 0 || permissions.bits & DENY) continue;
      const base = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
      if (pattern.startsWith(prefix) || (pattern.endsWith('*') && prefix.startsWith(base))) return true;
      if (base.includes('+') && segmentsOverlap(base.split('/'), prefixSegments)) return true;
    }
    return false;
  }

  private add(pattern: string, permissions: Permissions): void {
    const isPrefix = pattern.endsWith('*');
    const base = isPrefix ? pattern.slice(0, -1) : pattern;
    const segments = base.split('/');
    const plusCount = segments.filter((segment) => segment === '+').length;

    if (plusCount === 0 && !isPrefix) {
      this.exact.set(pattern, permissions);
      return;
    }
    const ranked: RankedPattern = { base, isPrefix, firstWildcard: base.length, plusCount, segments, permissions };
    if (plusCount === 0) {
      this.insertPrefix(ranked);
      return;
    }
    ranked.firstWildcard = firstPlusIndex(segments);
    this.segmentPatterns.push(ranked);
  }

  private insertPrefix(pattern: RankedPattern): void {
    let node = this.prefixes;
    for (const ch of pattern.base) {
      let child = node.children.get(ch);
      if (child === undefined) {
        child = { children: new Map() };
        node.children.set(ch, child);
      }
      node = child;
    }
    node.pattern = pattern;
  }

  /**
   * Finds the rule that governs a path: an exact pattern first, otherwise the highest-priority
   * glob or `+` pattern. A LIST of `dir/` also matches rules written for `dir`, as Vault does.
   */
  private lookup(path: string, isList: boolean): Permissions | undefined {
    const exact = this.exact.get(path);
    if (exact !== undefined) return exact;

    const trimmed = isList && path.endsWith('/') ? path.slice(0, -1) : null;
    if (trimmed !== null) {
      const exactTrimmed = this.exact.get(trimmed);
      if (exactTrimmed !== undefined) return exactTrimmed;
    }
    const match = this.lookupNonExact(path) ?? (trimmed !== null ? this.lookupNonExact(trimmed) : undefined);
    return match?.permissions;
  }

  private lookupNonExact(path: string): RankedPattern | undefined {
    const prefix = this.longestPrefix(path);
    if (this.segmentPatterns.length === 0) return prefix;

    const parts = path.split('/');
    const segmentMatch = this.segmentPatterns.find((pattern) => matchesSegments(pattern, parts));
    if (segmentMatch === undefined) return prefix;
    if (prefix === undefined) return segmentMatch;
    return comparePriority(segmentMatch, prefix) > 0 ? segmentMatch : prefix;
  }

  private longestPrefix(path: string): RankedPattern | undefined {
    let node: TrieNode | undefined = this.prefixes;
    let best = node.pattern;
    for (const ch of path) {
      node = node.children.get(ch);
      if (node === undefined) break;
      if (node.pattern !== undefined) best = node.pattern;
    }
    return best;
  }
}

function firstPlusIndex(segments: string[]): number {
  let offset = 0;
  for (const segment of segments) {
    if (segment === '+') return offset;
    offset += segment.length + 1;
  }
  return offset;
}

/**
 * Matches request path parts against a `+` pattern. A `+` matches any one part. With a trailing
 * `*`, the last pattern segment matches by prefix and the path may have further parts.
 */
function matchesSegments(pattern: RankedPattern, parts: string[]): boolean {
  const { segments, isPrefix } = pattern;
  if (parts.length < segments.length) return false;
  if (!isPrefix && parts.length !== segments.length) return false;

  const last = segments.length - 1;
  for (let i = 0; i <= last; i++) {
    const segment = segments[i];
    if (segment === '+') continue;
    if (i === last && isPrefix) {
      if (!parts[i].startsWith(segment)) return false;
    } else if (parts[i] !== segment) {
      return false;
    }
  }
  return true;
}

/** The ACL of the root policy: everything is allowed, including `sudo`. */
const ROOT_ACL: Acl = {
  root: true,
  check: () => ({ allowed: true, sudo: true, capabilities: ['root'] }),
  capabilities: () => ['root'],
  hasAnyCapabilityUnder: () => true,
};

/** True when a `+` pattern's segments agree with a prefix's segments as far as both go. */
function segmentsOverlap(patternSegments: string[], prefixSegments: string[]): boolean {
  const length = Math.min(patternSegments.length, prefixSegments.length);
  for (let i = 0; i < length; i++) {
    const segment = patternSegments[i];
    const prefixSegment = prefixSegments[i];
    if (segment === '+' || prefixSegment === '') continue;
    if (i === length - 1 && segment.startsWith(prefixSegment)) continue;
    if (segment !== prefixSegment) return false;
  }
  return true;
}

/**
 * Returns why a requested wrapping TTL breaks the matched rule's bounds, or null. A minimum makes
 * wrapping mandatory; a maximum applies only when wrapping is requested.
 */
export function checkWrappingTtl(result: AclResult, wrapTtl: number | undefined): string | null {
  if (result.minWrappingTtl !== undefined) {
    if (wrapTtl === undefined || wrapTtl <= 0) return 'response wrapping is required on this path';
    if (wrapTtl < result.minWrappingTtl) return `wrapping TTL ${wrapTtl}s is below the minimum of ${result.minWrappingTtl}s`;
  }
  if (result.maxWrappingTtl !== undefined && wrapTtl !== undefined && wrapTtl > result.maxWrappingTtl) {
    return `wrapping TTL ${wrapTtl}s is above the maximum of ${result.maxWrappingTtl}s`;
  }
  return null;
}
