import type { Logger } from 'pino';
import { BadRequestError } from '../../errors.js';
import type { HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { rebuildAllCrls } from './crl.js';
import type { PkiStore } from './store.js';

/** The state of the last tidy run, as `tidy-status` reports it. Kept in memory only. */
interface TidyStatus {
  state: 'Inactive' | 'Running' | 'Finished' | 'Error';
  tidy_cert_store: boolean;
  tidy_revoked_certs: boolean;
  safety_buffer: number;
  time_started: string | null;
  time_finished: string | null;
  error: string | null;
  cert_store_deleted_count: number;
  revoked_cert_deleted_count: number;
  current_cert_store_count: number | null;
  current_revoked_cert_count: number | null;
}

/**
 * Builds `tidy` and `tidy-status`. Tidy removes certificates that expired more than
 * `safety_buffer` ago from the certificate store and the revocation list, then rebuilds the CRLs.
 * It runs in the background, as in Vault, and returns 202 at once.
 */
export function tidyPaths(store: PkiStore, logger: Logger): PathSpec[] {
  let status: TidyStatus = {
    state: 'Inactive',
    tidy_cert_store: false,
    tidy_revoked_certs: false,
    safety_buffer: 0,
    time_started: null,
    time_finished: null,
    error: null,
    cert_store_deleted_count: 0,
    revoked_cert_deleted_count: 0,
    current_cert_store_count: null,
    current_revoked_cert_count: null,
  };

  const start = async (ctx: HandlerContext): Promise<LogicalResponse> => {
    if (status.state === 'Running') throw new BadRequestError('a tidy operation is already running; check tidy-status');
    const tidyCertStore = ctx.fields.tidy_cert_store === true;
    const tidyRevoked = ctx.fields.tidy_revoked_certs === true;
    if (!tidyCertStore && !tidyRevoked) {
      throw new BadRequestError('tidy has nothing to do: set tidy_cert_store or tidy_revoked_certs to true');
    }
    const safetyBuffer = Number(ctx.fields.safety_buffer);
    if (safetyBuffer < 1) throw new BadRequestError('invalid safety_buffer: use a positive duration such as 72h');

    status = {
      ...status,
      state: 'Running',
      tidy_cert_store: tidyCertStore,
      tidy_revoked_certs: tidyRevoked,
      safety_buffer: safetyBuffer,
      time_started: new Date().toISOString(),
      time_finished: null,
      error: null,
      cert_store_deleted_count: 0,
      revoked_cert_deleted_count: 0,
    };
    void runTidy(store, status).catch((err: unknown) => {
      status.state = 'Error';
      status.error = err instanceof Error ? err.message : String(err);
      status.time_finished = new Date().toISOString();
      logger.error({ err: status.error }, 'PKI tidy failed');
    });
    return {
      status: 202,
      warnings: ['Tidy operation successfully started. Any information from the operation will be printed to the server logs.'],
    };
  };

  return [
    {
      pattern: 'tidy',
      fields: {
        tidy_cert_store: { type: 'bool', default: false, description: 'Removes expired certificates from the certificate store.' },
        tidy_revoked_certs: { type: 'bool', default: false, description: 'Removes expired certificates from the revocation list and CRL.' },
        safety_buffer: { type: 'duration', default: 259200, description: 'How long after expiry a certificate is kept; default 72h.' },
      },
      operations: { update: start },
      help: 'Removes expired certificates in the background.',
    },
    {
      pattern: 'tidy-status',
      operations: { read: async () => ({ data: { ...status } }) },
      help: 'Reports the last tidy run.',
    },
  ];
}

async function runTidy(store: PkiStore, status: TidyStatus): Promise<void> {
  const cutoff = Date.now() - status.safety_buffer * 1000;

  if (status.tidy_revoked_certs) {
    for (const entry of await store.listRevoked()) {
      if (entry.notAfter > cutoff) continue;
      await store.deleteRevoked(entry.serial);
      await store.deleteCert(entry.serial);
      status.revoked_cert_deleted_count++;
    }
  }
  if (status.tidy_cert_store) {
    for (const serial of await store.listCertSerials()) {
      const cert = await store.getCert(serial);
      if (!cert || cert.notAfter > cutoff) continue;
      // A revoked certificate stays until tidy_revoked_certs removes it, so the CRL keeps listing it.
      if (cert.revocationTime !== undefined && !status.tidy_revoked_certs) continue;
      await store.deleteCert(serial);
      status.cert_store_deleted_count++;
    }
  }
  if (status.revoked_cert_deleted_count > 0) await rebuildAllCrls(store);

  status.current_cert_store_count = (await store.listCertSerials()).length;
  status.current_revoked_cert_count = (await store.listRevoked()).length;
  status.state = 'Finished';
  status.time_finished = new Date().toISOString();
}
