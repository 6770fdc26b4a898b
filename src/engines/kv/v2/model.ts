/**
 * The stored shape of KV version 2 and the rules that derive from it: which versions are live, how
 * many versions a key keeps, and when a new version is deleted automatically.
 */

/** Versions Vault keeps per key when neither the key nor the mount sets `max_versions`. */
export const DEFAULT_MAX_VERSIONS = 10;

/** Mount-wide settings, stored at `config`. */
export interface KvConfig {
  /** Versions kept per key; 0 means the default of 10. */
  max_versions: number;
  cas_required: boolean;
  /** Seconds after its creation that a new version is deleted; 0 means never. */
  delete_version_after: number;
}

export const DEFAULT_CONFIG: KvConfig = {
  max_versions: 0,
  cas_required: false,
  delete_version_after: 0,
};

/** One version's bookkeeping. Times are RFC 3339, and an empty `deletion_time` means none. */
export interface VersionMetadata {
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

/** Everything stored about one key except the data of its versions. */
export interface KeyMetadata {
  /** Retained versions by number. Pruned versions are removed from the map. */
  versions: Record<string, VersionMetadata>;
  current_version: number;
  /** 0 until the first version is pruned, then the lowest version number that may still exist. */
  oldest_version: number;
  created_time: string;
  updated_time: string;
  /** The key's own setting; 0 defers to the mount. */
  max_versions: number;
  cas_required: boolean;
  /** The key's own setting in seconds; 0 defers to the mount. */
  delete_version_after: number;
  custom_metadata: Record<string, string> | null;
}

/** The data of one version, stored apart from the metadata. */
export interface VersionData {
  data: Record<string, unknown>;
}

/** Creates the metadata of a key that has no versions yet. */
export function newKeyMetadata(now: string): KeyMetadata {
  return {
    versions: {},
    current_version: 0,
    oldest_version: 0,
    created_time: now,
    updated_time: now,
    max_versions: 0,
    cas_required: false,
    delete_version_after: 0,
    custom_metadata: null,
  };
}

/** True when the version is destroyed or its deletion time has passed. */
export function isVersionDeleted(version: VersionMetadata, nowMs: number): boolean {
  if (version.destroyed) return true;
  return version.deletion_time !== '' && Date.parse(version.deletion_time) <= nowMs;
}

/** Returns how many versions the key keeps: its own setting, else the mount's, else 10. */
export function effectiveMaxVersions(meta: KeyMetadata, config: KvConfig): number {
  if (meta.max_versions > 0) return meta.max_versions;
  if (config.max_versions > 0) return config.max_versions;
  return DEFAULT_MAX_VERSIONS;
}

/**
 * Returns the seconds after which a new version is deleted, or 0 for never. The key's setting
 * applies unless it is unset or longer than the mount's, as Vault documents.
 */
export function effectiveDeleteAfter(meta: KeyMetadata, config: KvConfig): number {
  const own = meta.delete_version_after;
  const mount = config.delete_version_after;
  if (own > 0 && (mount <= 0 || own < mount)) return own;
  return mount > 0 ? mount : 0;
}

/** True when writes to the key must carry `options.cas`. */
export function isCasRequired(meta: KeyMetadata | null, config: KvConfig): boolean {
  return config.cas_required || (meta?.cas_required ?? false);
}

/** Returns the version fields that data reads and writes report. */
export function describeVersion(meta: KeyMetadata, version: number): Record<string, unknown> {
  const entry = meta.versions[String(version)];
  return {
    created_time: entry.created_time,
    custom_metadata: meta.custom_metadata,
    deletion_time: entry.deletion_time,
    destroyed: entry.destroyed,
    version,
  };
}

/**
 * Formats a time as Go's RFC 3339 with fractional seconds, the form Vault writes: the fraction
 * has its trailing zeros removed, so `2018-03-22T02:24:06.9Z` and `2018-03-22T02:24:06Z` occur.
 * JavaScript clocks give milliseconds, so the fraction has at most three digits.
 */
export function formatTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.(\d*?)0*Z$/, (_match, digits: string) =>
    digits === '' ? 'Z' : `.${digits}Z`,
  );
}

/** Formats whole seconds as Go prints a `time.Duration`: `0s`, `45s`, `1m30s`, `3h25m19s`. */
export function formatGoDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) return `${hours}h${minutes}m${rest}s`;
  if (minutes > 0) return `${minutes}m${rest}s`;
  return `${rest}s`;
}
