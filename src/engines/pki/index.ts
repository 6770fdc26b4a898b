import type { BackendFactory } from '../../framework/types.js';
import { caPaths } from './ca-paths.js';
import { revokeSerial } from './crl.js';
import { fetchPaths, UNAUTHENTICATED_PATHS } from './fetch-paths.js';
import { issuerPaths } from './issuer-paths.js';
import { leafPaths } from './leaf-paths.js';
import { ocspPaths } from './ocsp.js';
import { rolePaths } from './roles.js';
import { clearSigningCache } from './signing-cache.js';
import { PkiStore } from './store.js';
import { tidyPaths } from './tidy.js';

/**
 * Creates the PKI secrets engine: certificate authorities (roots, intermediates, imported
 * bundles, several issuers per mount), roles, issuance and signing of X.509 certificates,
 * revocation with CRLs and an OCSP responder, and tidy.
 */
export const pkiBackend: BackendFactory = (ctx) => {
  const store = new PkiStore(ctx.storage);
  return {
    paths: [
      ...caPaths(store),
      ...fetchPaths(store),
      ...issuerPaths(store),
      ...rolePaths(store),
      ...leafPaths(store),
      ...ocspPaths(store),
      ...tidyPaths(store, ctx.logger),
    ],
    unauthenticatedPaths: UNAUTHENTICATED_PATHS,
    rootPaths: ['root', 'root/sign-self-issued'],
    // Seal and unmount drop the imported signing keys of every PKI mount; they are re-imported on use.
    cleanup: async () => clearSigningCache(),
    secretTypes: {
      pki_cert: {
        // Revoking the lease of a certificate issued with generate_lease revokes the certificate.
        revoke: async (lease) => {
          const serial = lease.internalData.serial_number;
          if (typeof serial !== 'string') return;
          await revokeSerial(new PkiStore(lease.backend.storage), serial);
        },
      },
    },
  };
};
