/** A parsed and validated server configuration. */
export interface ServerConfig {
  /** The file it was read from, for messages; absent in dev mode. */
  source?: string;
  storage: StorageConfig;
  listeners: ListenerConfig[];
  apiAddr?: string;
  /** Seconds. */
  defaultLeaseTtl: number;
  /** Seconds. */
  maxLeaseTtl: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  ui: boolean;
}

export type StorageConfig = { type: 'sqlite'; path: string } | { type: 'inmem' };

export interface ListenerConfig {
  type: 'tcp';
  /** HOST:PORT */
  address: string;
  tlsDisable: boolean;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  tlsMinVersion: 'tls12' | 'tls13';
  /** Bytes; a larger request body gets 413. */
  maxRequestSize: number;
}

export const DEFAULT_MAX_REQUEST_SIZE = 32 * 1024 * 1024;
export const DEFAULT_LEASE_TTL = 768 * 3600;
export const DEFAULT_MAX_LEASE_TTL = 768 * 3600;
