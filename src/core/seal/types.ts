/** Seal configuration as `sys/init` sets it and `sys/seal-status` reports it. */
export interface SealConfig {
  type: 'shamir';
  secretShares: number;
  secretThreshold: number;
}

/** Progress of an unseal in course, as `sys/seal-status` and `sys/unseal` report it. */
export interface UnsealProgress {
  sealed: boolean;
  progress: number;
  nonce: string;
  threshold: number;
  shares: number;
}

export interface InitResult {
  /** Unseal key shares, hex. */
  keys: string[];
  /** The same shares, base64. */
  keysBase64: string[];
}
