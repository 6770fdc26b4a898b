import type { Backend } from '../../framework/types.js';
import { auditPaths } from '../audit/paths.js';
import { policyPaths } from '../policy/paths.js';
import type { Core } from '../core.js';
import { mountPaths } from './mount-paths.js';
import { sealPaths } from './seal-paths.js';
import { wrappingPaths } from '../wrapping/paths.js';
import { LEASE_ROOT_PATHS, leasePaths } from '../expiration/paths.js';
import { PASSWORD_POLICY_STORAGE_PREFIX, passwordPolicyPaths } from '../password-policy/paths.js';
import { StorageView } from '../../storage/storage.js';

/** Sys paths that need no token. */
// Unwrapping needs only the wrapping token, given in the body or as the client token.
const UNAUTHENTICATED_PATHS = ['init', 'seal-status', 'unseal', 'health', 'leader', 'wrapping/lookup', 'wrapping/unwrap'];

/** Sys paths that need `sudo` as well as the capability for the operation. */
const ROOT_PATHS = ['auth/*', 'audit', 'audit/*', 'rotate', 'seal', 'remount', 'raw', 'raw/*', 'leases/revoke-prefix/*', 'leases/revoke-force/*', 'config/*'];

/** Builds the `sys/` backend, served by core itself rather than from the mount table. */
export function systemBackend(core: Core): Backend {
  return {
    unauthenticatedPaths: UNAUTHENTICATED_PATHS,
    rootPaths: [...ROOT_PATHS, ...LEASE_ROOT_PATHS],
    paths: [
      ...sealPaths(core),
      ...mountPaths(core),
      ...policyPaths({
        store: core.policies,
        lookupTokenPolicies: async (token) => (await core.tokens.lookup(token))?.policies ?? null,
        lookupAccessorPolicies: async (accessor) => (await core.tokens.lookupByAccessor(accessor))?.policies ?? null,
      }),
      ...auditPaths(core.audit),
      ...wrappingPaths(core.wrapper),
      ...leasePaths(core.expiration),
      ...passwordPolicyPaths(new StorageView(core.barrier, PASSWORD_POLICY_STORAGE_PREFIX)),
    ],
  };
}

/** Sys paths served while the server is sealed. */
export const SEALED_PATHS = new Set(['sys/init', 'sys/seal-status', 'sys/unseal', 'sys/health', 'sys/leader']);
