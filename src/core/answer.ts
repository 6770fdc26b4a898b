import type { LogicalRequest } from '../framework/types.js';

/**
 * The pipeline's result, ready for the HTTP layer to write: a status and a JSON body (null means
 * no body, sent as 204 unless another status is set).
 */
export interface Answer {
  status: number;
  body: unknown | null;
  headers?: Record<string, string>;
}

/** The handler the HTTP layer calls for each decoded request. Errors are thrown as `CofferError`s. */
export interface RequestHandler {
  handleRequest(req: LogicalRequest): Promise<Answer>;
}

/** Vault's response envelope. */
export interface ResponseEnvelope {
  request_id: string;
  lease_id: string;
  renewable: boolean;
  lease_duration: number;
  data: Record<string, unknown> | null;
  wrap_info: Record<string, unknown> | null;
  warnings: string[] | null;
  auth: Record<string, unknown> | null;
  mount_type: string;
  [topLevel: string]: unknown;
}
