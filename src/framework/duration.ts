import { BadRequestError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Largest accepted duration: about 100 years, far beyond any TTL but safe as a millisecond count. */
export const MAX_DURATION_SECONDS = 100 * 365 * 86400;

/**
 * Parses a duration as Vault accepts it: a whole number of seconds (number or string), or a Go-style
 * duration string such as `90s`, `10m`, `1h30m` or `2d`. Returns whole seconds.
 */
export function parseDuration(value: unknown, name = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > MAX_DURATION_SECONDS) {
      throw new BadRequestError(`invalid ${name}: ${value}: expected a whole number of seconds from 0 to ${MAX_DURATION_SECONDS}`);
    }
    return value;
  }
  if (typeof value !== 'string') {
    throw new BadRequestError(`invalid ${name}: expected a number of seconds or a duration string such as "1h"`);
  }
  const text = value.trim();
  if (text === '') return 0;
  if (/^\d+$/.test(text)) return parseDuration(Number(text), name);

  const shown = JSON.stringify(text.slice(0, 40));
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) {
    throw new BadRequestError(`invalid ${name}: ${shown}: use seconds or a duration such as "30s", "10m", "1h30m"`);
  }
  let seconds = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    const amount = Number(match[1]);
    seconds += match[2] === 'ms' ? amount / 1000 : amount * UNIT_SECONDS[match[2]];
  }
  seconds = Math.floor(seconds);
  if (!Number.isFinite(seconds) || seconds > MAX_DURATION_SECONDS) {
    throw new BadRequestError(`invalid ${name}: ${shown}: longer than the maximum of ${MAX_DURATION_SECONDS} seconds`);
  }
  return seconds;
}

/** Formats seconds as Vault's CLI shows a duration, e.g. `768h0m0s`. */
export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h}h${m}m${s}s`;
}
