import { x509 } from './x509.js';
import { BadRequestError } from '../../errors.js';
import type { HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { parseDuration } from '../../framework/duration.js';
import { currentCrl, derToPem, rebuildAllCrls, revokeCertificate, revokeSerial } from './crl.js';
import { parseSerial } from './keys.js';
import { requireIssuer, type CrlConfig, type PkiStore, type StoredIssuer } from './store.js';

const PEM_CHAIN = 'application/pem-certificate-chain';

/**
 * Paths that need no token, as Vault declares them.
 * NOTE: Vault also serves `issuer/REF/pem`, `/der`, `/json` and `/crl` without a token. The
 * pipeline matches only exact paths and `*` suffixes, so here those still need a token.
 */
export const UNAUTHENTICATED_PATHS = ['cert/*', 'ca', 'ca/pem', 'ca_chain', 'crl', 'crl/pem', 'ocsp', 'ocsp/*'];

function raw(body: Buffer | string, contentType: string): LogicalResponse {
  return { rawBytes: { status: 200, contentType, body: Buffer.isBuffer(body) ? body : Buffer.from(body) } };
}

function chainPem(issuer: StoredIssuer): string {
  return [issuer.certificate, ...issuer.caChain].map((pem) => pem.trim()).join('\n') + '\n';
}

/** Builds the paths that serve certificates and CRLs, revoke, and configure the CRL. */
export function fetchPaths(store: PkiStore): PathSpec[] {
  return [
    {
      pattern: 'ca(?<pem>/pem)?',
      operations: {
        read: async (ctx) => {
          const issuer = await store.resolveIssuer('default');
          if (ctx.params.pem) return raw(issuer.certificate.trim() + '\n', PEM_CHAIN);
          return raw(Buffer.from(new x509.X509Certificate(issuer.certificate).rawData), 'application/pkix-cert');
        },
      },
      help: 'Returns the default issuer certificate as DER, or PEM under /pem.',
    },
    {
      pattern: 'ca_chain|cert/ca_chain',
      operations: {
        read: async (ctx) => {
          const chain = chainPem(await store.resolveIssuer('default'));
          return ctx.req.mountRelativePath?.startsWith('cert/') ? { data: { certificate: chain, ca_chain: chain } } : raw(chain, PEM_CHAIN);
        },
      },
      help: 'Returns the default issuer certificate and the chain above it as PEM.',
    },
    {
      pattern: 'crl(?<pem>/pem)?',
      operations: {
        read: async (ctx) => {
          const der = await currentCrl(store, await store.resolveIssuer('default'));
          return ctx.params.pem ? raw(derToPem(der, 'X509 CRL'), 'application/x-pem-file') : raw(der, 'application/pkix-crl');
        },
      },
      help: "Returns the default issuer's CRL as DER, or PEM under /pem.",
    },
    {
      pattern: 'issuer/(?<ref>[^/]+)/crl(?<encoding>/pem|/der)?',
      operations: {
        read: async (ctx) => {
          const der = await currentCrl(store, await requireIssuer(store, ctx.params.ref!));
          if (ctx.params.encoding === '/der') return raw(der, 'application/pkix-crl');
          if (ctx.params.encoding === '/pem') return raw(derToPem(der, 'X509 CRL'), 'application/x-pem-file');
          return { data: { crl: derToPem(der, 'X509 CRL') } };
        },
      },
      help: "Returns an issuer's CRL.",
    },
    {
      pattern: 'crl/rotate',
      operations: {
        read: async () => {
          await rebuildAllCrls(store);
          return { data: { success: true } };
        },
      },
      help: 'Rebuilds the CRL of every issuer now.',
    },
    {
      pattern: 'cert/(?<serial>[^/]+)',
      operations: { read: (ctx) => readCert(store, ctx) },
      help: 'Returns a certificate by serial, or the CA ("ca") or CRL ("crl") as PEM in JSON.',
    },
    {
      pattern: 'certs/?',
      operations: {
        list: async (ctx) => {
          const limit = ctx.req.query.limit ? Number(ctx.req.query.limit) : undefined;
          if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
            throw new BadRequestError('invalid "limit": expected a positive whole number');
          }
          const keys = await store.listCertSerials({ after: ctx.req.query.after || undefined, limit });
          return { data: { keys } };
        },
      },
      help: 'Lists the serials of stored certificates; takes after and limit for paging.',
    },
    {
      pattern: 'certs/revoked/?',
      operations: {
        list: async () => ({ data: { keys: (await store.listRevoked()).map((entry) => entry.serial) } }),
      },
      help: 'Lists the serials of revoked certificates.',
    },
    {
      pattern: 'revoke',
      fields: {
        serial_number: { type: 'string', description: 'Serial of the certificate, as hex pairs with colons or hyphens.' },
        certificate: { type: 'string', description: 'PEM certificate to revoke, instead of a serial.' },
      },
      operations: { update: (ctx) => revoke(store, ctx) },
      help: "Revokes a certificate and rebuilds its issuer's CRL.",
    },
    {
      pattern: 'config/crl',
      fields: {
        expiry: { type: 'string', description: 'How long each CRL is valid, such as 72h.' },
        disable: { type: 'bool', description: 'Serves empty CRLs.' },
        ocsp_disable: { type: 'bool', description: 'Turns the OCSP responder off.' },
        auto_rebuild: { type: 'bool', description: 'Rebuilds CRLs when read near expiry instead of on every revocation.' },
        auto_rebuild_grace_period: { type: 'string', description: 'How long before NextUpdate an auto-rebuilt CRL is rebuilt.' },
      },
      operations: {
        read: async () => ({ data: { ...(await store.crlConfig()) } }),
        update: (ctx) => writeCrlConfig(store, ctx),
      },
      help: 'Reads and sets CRL expiry, disabling and automatic rebuilding.',
    },
  ];
}

async function readCert(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const serialParam = ctx.params.serial!;
  if (serialParam === 'ca') {
    const issuer = await store.resolveIssuer('default');
    return { data: { certificate: issuer.certificate.trim() + '\n', revocation_time: 0, issuer_id: issuer.id } };
  }
  if (serialParam === 'crl') {
    const der = await currentCrl(store, await store.resolveIssuer('default'));
    return { data: { certificate: derToPem(der, 'X509 CRL'), revocation_time: 0 } };
  }
  const stored = await store.getCert(parseSerial(serialParam));
  if (!stored) return null;
  return {
    data: {
      certificate: stored.certificate.trim() + '\n',
      serial_number: stored.serial,
      issuer_id: stored.issuerId,
      revocation_time: stored.revocationTime ?? 0,
      revocation_time_rfc3339: stored.revocationTime ? new Date(stored.revocationTime * 1000).toISOString() : '',
    },
  };
}

async function revoke(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const serial = typeof ctx.fields.serial_number === 'string' ? ctx.fields.serial_number : '';
  const certificate = typeof ctx.fields.certificate === 'string' ? ctx.fields.certificate : '';
  if (serial !== '' && certificate !== '') throw new BadRequestError('set either serial_number or certificate, not both');
  if (serial === '' && certificate === '') throw new BadRequestError('missing serial_number or certificate: name the certificate to revoke');
  const { result, warnings } = serial !== '' ? await revokeSerial(store, serial) : await revokeCertificate(store, certificate);
  return warnings.length > 0 ? { data: { ...result }, warnings } : { data: { ...result } };
}

async function writeCrlConfig(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const config: CrlConfig = { ...(await store.crlConfig()) };
  const fields = ctx.fields;
  for (const name of ['expiry', 'auto_rebuild_grace_period'] as const) {
    if (typeof fields[name] === 'string') {
      if (parseDuration(fields[name], name) <= 0) throw new BadRequestError(`invalid ${name}: use a positive duration such as 72h`);
      config[name] = fields[name] as string;
    }
  }
  for (const name of ['disable', 'ocsp_disable', 'auto_rebuild'] as const) {
    if (typeof fields[name] === 'boolean') config[name] = fields[name] as boolean;
  }
  await store.putCrlConfig(config);
  await rebuildAllCrls(store);
  return null;
}
