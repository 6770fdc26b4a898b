import { BadRequestError } from '../../errors.js';
import type { BackendFactory } from '../../framework/types.js';
import { createKvV1Backend } from './v1.js';
import { createKvV2Backend } from './v2/index.js';

/**
 * Creates the KV secrets engine. The mount option `version` selects the API: "1" (the default
 * when absent or empty) stores one unversioned JSON object per path, and "2" keeps numbered
 * versions with metadata under `data/`, `metadata/`, `delete/`, `undelete/`, `destroy/`,
 * `subkeys/` and `config`.
 */
export const kvBackend: BackendFactory = (ctx) => {
  const version = ctx.options.version ?? '';
  if (version === '' || version === '1') return createKvV1Backend();
  if (version === '2') return createKvV2Backend(ctx.storage);
  const shownVersion = JSON.stringify(version.slice(0, 20));
  throw new BadRequestError(`invalid KV version ${shownVersion}: use "1" or "2"`);
};
