/** Coffer's version, reported by sys/health, sys/seal-status and `coffer version`. */
export const COFFER_VERSION = '0.1.0';
