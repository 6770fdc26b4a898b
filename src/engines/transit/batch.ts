import type { Logger } from 'pino';
import { BadRequestError, CofferError } from '../../errors.js';
import { isPlainObject } from '../../framework/fields.js';
import type { LogicalResponse } from '../../framework/types.js';

/** Items processed between yields to the event loop, so a large batch does not stall other requests. */
const ITEMS_PER_SLICE = 200;

/** One request item: the fields of a single request, or one entry of `batch_input`. */
export type Item = Record<string, unknown>;

export interface BatchOutcome {
  results: Item[];
  successes: number;
  userErrors: number;
  internalErrors: number;
}

/**
 * Runs `handle` on each `batch_input` entry in order. A failing item gets an `error` field in its
 * result and does not stop the others. A 4xx error's message is shown; any other error is logged
 * and reported as "internal error". Each result repeats the item's `reference`, as Vault does.
 */
export async function runBatch(items: unknown[], logger: Logger, handle: (item: Item) => Item): Promise<BatchOutcome> {
  const outcome: BatchOutcome = { results: [], successes: 0, userErrors: 0, internalErrors: 0 };
  for (let i = 0; i < items.length; i++) {
    if (i > 0 && i % ITEMS_PER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));

    const item = items[i];
    const reference = isPlainObject(item) && typeof item.reference === 'string' ? { reference: item.reference } : {};
    try {
      if (!isPlainObject(item)) throw new BadRequestError(`batch_input item ${i} is not an object`);
      outcome.results.push({ ...handle(item), ...reference });
      outcome.successes++;
    } catch (err) {
      if (err instanceof CofferError && err.status < 500) {
        outcome.results.push({ error: err.message, ...reference });
        outcome.userErrors++;
      } else {
        logger.error({ err, item: i }, 'transit batch item failed');
        outcome.results.push({ error: 'internal error', ...reference });
        outcome.internalErrors++;
      }
    }
  }
  return outcome;
}

/**
 * Builds the response of a batch as Vault does: the results under `batch_results`, with status
 * 400 when an item had a user error (500 for an internal one). `partial_failure_response_code`
 * replaces that status when at least one item succeeded.
 */
export function batchResponse(outcome: BatchOutcome, partialFailureCode: number | undefined): LogicalResponse {
  const response: LogicalResponse = { data: { batch_results: outcome.results } };
  if (outcome.userErrors === 0 && outcome.internalErrors === 0) return response;

  response.status = outcome.internalErrors > 0 ? 500 : 400;
  if (partialFailureCode !== undefined && outcome.successes > 0) {
    if (partialFailureCode >= 100 && partialFailureCode <= 599) response.status = partialFailureCode;
    else response.warnings = [`ignored partial_failure_response_code ${partialFailureCode}: it must be from 100 to 599`];
  }
  return response;
}

/** Reads `batch_input`: undefined when absent, otherwise a non-empty array. */
export function batchInput(value: unknown): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new BadRequestError('invalid batch_input: expected an array of objects');
  if (value.length === 0) throw new BadRequestError('invalid batch_input: the array is empty');
  return value;
}

/** Reads an optional string field of an item; throws 400 when it has another type. */
export function itemString(item: Item, name: string): string | undefined {
  const value = item[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new BadRequestError(`invalid ${name}: expected a string`);
  return value;
}

/** Reads an optional whole-number field of an item (a number or a numeric string). */
export function itemInt(item: Item, name: string): number | undefined {
  const value = item[name];
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new BadRequestError(`invalid ${name}: expected a whole number`);
  return n;
}
