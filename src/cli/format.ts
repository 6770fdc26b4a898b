import type { AuthInfo, SecretBody, WrapInfo } from './client.js';
import { CliError } from './errors.js';

/** Output format chosen with `-format`. */
export type OutputFormat = 'table' | 'json';

/** How a command prints its result: the format and, with `-field`, the one field to print. */
export interface OutputOptions {
  format: OutputFormat;
  field?: string;
}

/** Gap between table columns, as Vault's CLI prints. */
const COLUMN_GAP = '    ';

/**
 * Formats rows under a header as aligned columns with a dashed separator row, e.g. `Key    Value`
 * over `---    -----`. The last column is not padded.
 */
export function formatColumns(header: string[], rows: string[][]): string {
  const all = [header, header.map((title) => '-'.repeat(title.length)), ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
        .join(COLUMN_GAP),
    )
    .join('\n');
}

/** Formats key/value pairs as a `Key`/`Value` table. */
export function formatKeyValueTable(pairs: Array<[string, unknown]>): string {
  return formatColumns(
    ['Key', 'Value'],
    pairs.map(([key, value]) => [key, formatValue(value)]),
  );
}

/**
 * Formats a value as Vault's CLI shows it in a table (Go's `%v`): strings raw, arrays as `[a b]`,
 * objects as `map[k:v]` with sorted keys, and null as `<nil>`.
 */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareText(a, b));
    return `map[${entries.map(([key, item]) => `${key}:${formatValue(item)}`).join(' ')}]`;
  }
  return String(value);
}

/** Formats a list of strings quoted, e.g. `["default" "ops"]`, as Vault prints token policies. */
export function formatQuotedList(items: readonly unknown[] | null | undefined): string {
  return `[${(items ?? []).map((item) => JSON.stringify(String(item))).join(' ')}]`;
}

/** Formats seconds as a short duration with zero units dropped: `768h`, `1m30s`, `0s`. */
export function formatHumanDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0s';
  const whole = Math.floor(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const secs = whole % 60;
  let text = '';
  if (hours > 0) text += `${hours}h`;
  if (minutes > 0 || (hours > 0 && secs > 0)) text += `${minutes}m`;
  if (secs > 0) text += `${secs}s`;
  return text;
}

/** Formats a section title centered in `=` signs across `width` columns, e.g. `==== Data ====`. */
export function formatSectionHeader(title: string, width: number): string {
  const pad = Math.max(2, Math.floor((width - title.length - 2) / 2));
  const bar = '='.repeat(pad);
  return `${bar} ${title} ${bar}`;
}

/** Prefixes a block of text with a section header as wide as the block's longest line. */
export function formatSection(title: string, block: string): string {
  const width = Math.max(...block.split('\n').map((line) => line.length));
  return `${formatSectionHeader(title, width)}\n${block}`;
}

/** Returns the lease rows Vault shows before a secret's data: the lease, or the refresh interval. */
export function leaseRows(body: SecretBody): Array<[string, unknown]> {
  const duration = body.lease_duration ?? 0;
  if (duration <= 0) return [];
  if (body.lease_id) {
    return [
      ['lease_id', body.lease_id],
      ['lease_duration', formatHumanDuration(duration)],
      ['lease_renewable', body.renewable ?? false],
    ];
  }
  return [['refresh_interval', formatHumanDuration(duration)]];
}

/** Returns the rows of an `auth` block, named as Vault's CLI names them (`token`, `token_accessor`, ...). */
export function authRows(auth: AuthInfo): Array<[string, string]> {
  const duration = auth.lease_duration ?? 0;
  const rows: Array<[string, string]> = [
    ['token', auth.client_token],
    // Batch tokens have no accessor; Vault's CLI shows n/a for them.
    ['token_accessor', auth.accessor || 'n/a'],
    // A duration of zero means the token never expires (the root token, for one).
    ['token_duration', duration > 0 ? formatHumanDuration(duration) : '∞'],
    ['token_renewable', String(auth.renewable ?? false)],
    ['token_policies', formatQuotedList(auth.token_policies ?? auth.policies)],
    ['identity_policies', formatQuotedList(auth.identity_policies)],
    ['policies', formatQuotedList(auth.policies)],
  ];
  const metadata = Object.entries(auth.metadata ?? {}).sort(([a], [b]) => compareText(a, b));
  for (const [key, value] of metadata) rows.push([`token_meta_${key}`, value]);
  return rows;
}

/** Returns the rows of a `wrap_info` block, keyed with a trailing colon as Vault's CLI prints them. */
export function wrapRows(wrap: WrapInfo): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['wrapping_token:', wrap.token],
    ['wrapping_accessor:', wrap.accessor ?? ''],
    ['wrapping_token_ttl:', formatHumanDuration(wrap.ttl ?? 0)],
    ['wrapping_token_creation_time:', wrap.creation_time ?? ''],
    ['wrapping_token_creation_path:', wrap.creation_path ?? ''],
  ];
  if (wrap.wrapped_accessor) rows.push(['wrapped_accessor:', wrap.wrapped_accessor]);
  return rows;
}

/** Returns true for data keys that hold a number of seconds: `ttl`, `period` and `*_ttl`, `*_period`. */
function isDurationKey(key: string): boolean {
  return key === 'ttl' || key === 'period' || key.endsWith('_ttl') || key.endsWith('_period');
}

/** Returns data rows with TTL and period values in seconds shown as durations (`768h`), as Vault's CLI shows them. */
export function responseDataRows(data: Record<string, unknown> | null | undefined): Array<[string, unknown]> {
  return dataRows(data).map(([key, value]) => {
    const seconds = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    return isDurationKey(key) && typeof seconds === 'number' ? [key, formatHumanDuration(seconds)] : [key, value];
  });
}

/** Returns the data of a body as sorted key/value rows. */
export function dataRows(data: Record<string, unknown> | null | undefined): Array<[string, unknown]> {
  return Object.entries(data ?? {}).sort(([a], [b]) => compareText(a, b));
}

/**
 * Formats a response in table form as Vault's CLI does: wrap info alone when the response is
 * wrapped, else the auth block when a token was issued, else lease rows then the sorted data.
 * Returns an empty string when there is nothing to show.
 */
export function formatSecretTable(body: SecretBody): string {
  if (body.wrap_info) return formatKeyValueTable(wrapRows(body.wrap_info));
  if (body.auth) return formatKeyValueTable(authRows(body.auth));
  const rows = [...leaseRows(body), ...responseDataRows(body.data)];
  return rows.length === 0 ? '' : formatKeyValueTable(rows);
}

/**
 * Finds `-field=NAME` in a response: wrap fields, auth fields and lease fields by the names the
 * table shows, else a key of `data` (or of `fieldSource` when given, such as KV v2's inner data).
 * Throws CliError when the field is not present.
 */
export function selectField(body: SecretBody, field: string, fieldSource?: Record<string, unknown> | null): unknown {
  const named = new Map<string, unknown>();
  if (body.wrap_info) for (const [key, value] of wrapRows(body.wrap_info)) named.set(key.replace(/:$/, ''), value);
  if (body.auth) for (const [key, value] of authRows(body.auth)) named.set(key, value);
  for (const [key, value] of leaseRows(body)) named.set(key, value);
  if (body.auth && field === 'token_policies') return body.auth.token_policies ?? body.auth.policies ?? [];
  if (named.has(field)) return named.get(field);

  const source = fieldSource ?? body.data ?? {};
  if (Object.prototype.hasOwnProperty.call(source, field)) return source[field];
  throw new CliError(`Field "${field}" not present in secret`);
}

/**
 * Formats one field value for `-field`: strings raw, other values as Go's `%v` in table format
 * or as JSON in json format.
 */
export function formatFieldValue(value: unknown, format: OutputFormat): string {
  if (typeof value === 'string') return value;
  return format === 'json' ? JSON.stringify(value, null, 2) : formatValue(value);
}

/** Formats any value as indented JSON, the `-format=json` output. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value ?? null, null, 2);
}

/** Compares strings by code unit, as Go's sort.Strings orders table keys. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
