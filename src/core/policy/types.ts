/**
 * Capabilities a policy path can grant. `subscribe` and `recover` are accepted so that policies
 * written for Vault 1.13 and later parse, but no Coffer operation requires them yet.
 */
export const CAPABILITIES = [
  'create',
  'read',
  'update',
  'patch',
  'delete',
  'list',
  'sudo',
  'deny',
  'subscribe',
  'recover',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

/** A value listed under `allowed_parameters` or `denied_parameters`: any JSON value. */
export type ParameterValue = unknown;

/** One `path` block of a policy, after validation. */
export interface PathRule {
  /** The pattern as written, with a trailing `*` glob and `{{...}}` templates kept. */
  path: string;
  capabilities: Capability[];
  /** Parameter names (lower-cased) that a write must include. */
  requiredParameters: string[];
  /** Parameter name (lower-cased, or `*`) to accepted values; an empty list accepts any value. */
  allowedParameters: Map<string, ParameterValue[]>;
  /** Parameter name (lower-cased, or `*`) to rejected values; an empty list rejects any value. */
  deniedParameters: Map<string, ParameterValue[]>;
  /** Seconds; 0 means no bound. */
  minWrappingTtl: number;
  /** Seconds; 0 means no bound. */
  maxWrappingTtl: number;
  /** 1-based line of the block in the policy text, when it could be found. */
  line?: number;
}

/** A parsed ACL policy. */
export interface Policy {
  /** Lower-cased policy name. */
  name: string;
  /** The policy text as submitted. */
  raw: string;
  paths: PathRule[];
  /** True when some path contains a `{{...}}` identity template. */
  templated: boolean;
}

/** An entity alias as identity templates see it. */
export interface TemplateAlias {
  mountAccessor: string;
  id: string;
  name: string;
  metadata?: Record<string, string>;
  customMetadata?: Record<string, string>;
}

/** A group the entity belongs to, as identity templates see it. */
export interface TemplateGroup {
  id: string;
  name: string;
  metadata?: Record<string, string>;
}

/** Identity values that `{{identity...}}` templates in policy paths are filled from. */
export interface TemplateIdentity {
  entityId?: string;
  entityName?: string;
  entityMetadata?: Record<string, string>;
  aliases?: TemplateAlias[];
  groups?: TemplateGroup[];
}
