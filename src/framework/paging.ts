import { BadRequestError } from '../errors.js';
import type { ListOptions } from '../storage/physical.js';
import type { LogicalRequest } from './types.js';

/**
 * Reads list paging from the query string: `after` (exclusive start name) and `limit` (a positive
 * whole number). Either may be absent. Every list endpoint takes them, so that a mount with a
 * million keys never has to be listed in one response.
 */
export function readPage(req: Pick<LogicalRequest, 'query'>): ListOptions {
  const page: ListOptions = {};
  const after = req.query.after;
  if (after !== undefined && after !== '') page.after = after;

  const limit = req.query.limit;
  if (limit !== undefined && limit !== '') {
    if (!/^\d+$/.test(limit) || !Number.isSafeInteger(Number(limit)) || Number(limit) < 1) {
      const shownLimit = JSON.stringify(limit.slice(0, 40));
      throw new BadRequestError(`invalid "limit" ${shownLimit}: expected a positive whole number`);
    }
    page.limit = Number(limit);
  }
  return page;
}
