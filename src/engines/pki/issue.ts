import { x509 } from './x509.js';
import { BadRequestError } from '../../errors.js';
import type { BackendContext, FieldSpec, FieldValues, LogicalResponse, SecretInfo } from '../../framework/types.js';
import {
  altNamesExtension,
  encodeCert,
  expirationOf,
  leafExtensions,
  signCertificate,
  urlExtensions,
  type AltNames,
  type LeafUsage,
} from './certs.js';
import { exportPrivateKey, formatSerial, type KeyType, type StoredKey } from './keys.js';
import { parsedCertificate } from './signing-cache.js';
import type { Role } from './roles.js';
import type { PkiStore, StoredIssuer } from './store.js';

/** Fields shared by `issue/ROLE`, `sign/ROLE` and `sign-verbatim`. */
export const issuanceFieldSpecs: Record<string, FieldSpec> = {
  common_name: { type: 'string', description: 'Common name of the certificate.' },
  alt_names: { type: 'comma-string-list', description: 'DNS names and email addresses for the subjectAltName.' },
  ip_sans: { type: 'comma-string-list', description: 'IP addresses for the subjectAltName.' },
  uri_sans: { type: 'comma-string-list', description: 'URIs for the subjectAltName, such as SPIFFE IDs.' },
  other_sans: { type: 'comma-string-list', description: 'Other SANs as OID;UTF8:value.' },
  ttl: { type: 'duration', description: 'Requested TTL; capped by the role max_ttl.' },
  not_after: { type: 'string', description: 'Requested NotAfter as an RFC 3339 time; overrides ttl.' },
  format: { type: 'string', default: 'pem', description: 'Encoding of certificates: pem, der or pem_bundle.' },
  private_key_format: { type: 'string', default: 'der', description: 'Encoding of the private key: der (PEM of PKCS#1/SEC1 when format is pem), pem or pkcs8.' },
  exclude_cn_from_sans: { type: 'bool', default: false, description: 'Leaves the common name out of the subjectAltName.' },
  issuer_ref: { type: 'string', description: 'Issuer to sign with; overrides the role issuer_ref.' },
  remove_roots_from_chain: { type: 'bool', default: false, description: 'Leaves self-signed roots out of ca_chain.' },
};

const FORMATS = new Set(['pem', 'der', 'pem_bundle']);
const KEY_FORMATS = new Set(['der', 'pem', 'pkcs8']);

/** Checks the `format` and `private_key_format` fields. */
export function checkFormats(fields: FieldValues): { format: string; keyFormat: string } {
  const format = String(fields.format ?? 'pem');
  const keyFormat = String(fields.private_key_format ?? 'der');
  if (!FORMATS.has(format)) throw new BadRequestError(`invalid format "${format.slice(0, 40)}": use pem, der or pem_bundle`);
  if (!KEY_FORMATS.has(keyFormat)) throw new BadRequestError(`invalid private_key_format "${keyFormat.slice(0, 40)}": use der, pem or pkcs8`);
  return { format, keyFormat };
}

/** The validity window of a new certificate. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
  warnings: string[];
}

/**
 * Computes NotBefore and NotAfter from the request TTL (or `not_after`), the role's TTLs and the
 * mount's TTLs. A NotAfter beyond the issuer's own follows the issuer's `leaf_not_after_behavior`:
 * `err` rejects with 400, `truncate` shortens to the issuer's NotAfter, `permit` keeps it.
 */
export function computeValidity(
  fields: FieldValues,
  limits: { ttl: number; maxTtl: number; notBeforeDuration: number },
  issuer: StoredIssuer | null,
  backend: BackendContext,
): Validity {
  const warnings: string[] = [];
  const now = Date.now();
  const maxTtl = limits.maxTtl > 0 ? limits.maxTtl : backend.system.maxLeaseTtl();

  let notAfter: number;
  if (typeof fields.not_after === 'string' && fields.not_after !== '') {
    notAfter = Date.parse(fields.not_after);
    if (Number.isNaN(notAfter)) throw new BadRequestError(`invalid not_after "${fields.not_after.slice(0, 40)}": use an RFC 3339 time such as 2030-01-01T00:00:00Z`);
    if (notAfter <= now) throw new BadRequestError('invalid not_after: it is in the past');
  } else {
    let ttl = backend.system.defaultLeaseTtl();
    if (typeof fields.ttl === 'number' && fields.ttl > 0) ttl = fields.ttl;
    else if (limits.ttl > 0) ttl = limits.ttl;
    if (ttl > maxTtl) {
      warnings.push(`TTL of ${ttl}s is greater than the maximum of ${maxTtl}s; capping at the maximum`);
      ttl = maxTtl;
    }
    notAfter = now + ttl * 1000;
  }

  if (issuer) {
    const issuerNotAfter = parsedCertificate(issuer.certificate).notAfter.getTime();
    if (notAfter > issuerNotAfter) {
      const overrun = `NotAfter ${new Date(notAfter).toISOString()} is beyond the issuer's NotAfter ${new Date(issuerNotAfter).toISOString()}`;
      if (issuer.leafNotAfterBehavior === 'err') {
        throw new BadRequestError(`cannot satisfy the requested TTL: ${overrun}; request a shorter ttl or set the issuer's leaf_not_after_behavior to truncate`);
      }
      if (issuer.leafNotAfterBehavior === 'truncate') notAfter = issuerNotAfter;
    }
  }
  const notBefore = now - limits.notBeforeDuration * 1000;
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter), warnings };
}

/** Requires that the issuer has a key and the issuing-certificates usage. */
export async function signerFor(store: PkiStore, issuer: StoredIssuer): Promise<StoredKey> {
  if (!issuer.usage.includes('issuing-certificates')) {
    throw new BadRequestError(`issuer "${issuer.name || issuer.id}" does not have the issuing-certificates usage; update its usage to issue certificates`);
  }
  const key = issuer.keyId ? await store.getKey(issuer.keyId) : null;
  if (!key) throw new BadRequestError(`issuer "${issuer.name || issuer.id}" has no private key in this mount, so it cannot sign`);
  return key;
}

/** The inputs of a leaf certificate besides the role checks: subject, names, key and usage. */
export interface LeafRequest {
  subject: x509.Name;
  publicKey: x509.PublicKey;
  altNames: AltNames | null;
  /** A subjectAltName extension copied verbatim from a CSR, used instead of `altNames`. */
  verbatimAltNames?: x509.Extension;
  usage: LeafUsage;
  validity: Validity;
  issuer: StoredIssuer;
  noStore: boolean;
  generateLease: boolean;
  /** Set on `issue`, where Coffer generated the key. */
  privateKey?: { pem: string; type: KeyType };
}

/** Signs, stores (unless `no_store`) and formats a leaf certificate. */
export async function issueLeaf(store: PkiStore, request: LeafRequest, fields: FieldValues): Promise<LogicalResponse> {
  const { format, keyFormat } = checkFormats(fields);
  const key = await signerFor(store, request.issuer);

  const extensions = [...leafExtensions(request.usage)];
  const sans = request.verbatimAltNames ?? (request.altNames ? altNamesExtension(request.altNames) : null);
  if (sans) extensions.push(sans);
  extensions.push(...urlExtensions(await store.urls()));

  const cert = await signCertificate(
    { subject: request.subject, publicKey: request.publicKey, notBefore: request.validity.notBefore, notAfter: request.validity.notAfter, extensions },
    { key, issuer: request.issuer },
  );
  const serial = formatSerial(cert.serialNumber);
  if (!request.noStore) {
    await store.putCert({ serial, certificate: cert.toString('pem'), issuerId: request.issuer.id, notAfter: cert.notAfter.getTime() });
  }

  const data = certificateData(cert, request.issuer, format, fields.remove_roots_from_chain === true);
  if (request.privateKey) {
    let keyEncoding = keyFormat === 'pkcs8' ? 'pkcs8' : 'pem';
    if (format === 'der') keyEncoding = 'der';
    data.private_key = exportPrivateKey(request.privateKey.pem, request.privateKey.type, keyEncoding);
    data.private_key_type = request.privateKey.type;
    if (format === 'pem_bundle') data.certificate = `${data.private_key}\n${data.certificate}`;
  }

  const response: LogicalResponse = { data };
  if (request.validity.warnings.length > 0) response.warnings = request.validity.warnings;
  if (request.generateLease) response.secret = leaseFor(cert, serial);
  return response;
}

/**
 * Formats the response fields of a newly signed certificate: `certificate`, `issuing_ca`,
 * `ca_chain`, `serial_number` and `expiration`. With `pem_bundle` the certificate field also contains
 * the issuing CA.
 */
export function certificateData(cert: x509.X509Certificate, issuer: StoredIssuer, format: string, removeRoots: boolean): Record<string, unknown> {
  const encoding = format === 'der' ? 'der' : 'pem';
  const chainPems = [issuer.certificate, ...issuer.caChain].filter((pem) => !removeRoots || !isSelfSigned(pem));
  const issuingCa = encodeCert(issuer.certificate, encoding);
  let certificate = encodeCert(cert, encoding);
  if (format === 'pem_bundle') certificate = `${certificate}\n${issuingCa}`;
  return {
    certificate,
    issuing_ca: issuingCa,
    ca_chain: chainPems.map((pem) => encodeCert(pem, encoding)),
    serial_number: formatSerial(cert.serialNumber),
    expiration: expirationOf(cert),
  };
}

function isSelfSigned(pem: string): boolean {
  const cert = parsedCertificate(pem);
  return cert.subject === cert.issuer;
}

/** Builds the lease of a certificate issued with `generate_lease`, which lasts until the certificate expires. */
function leaseFor(cert: x509.X509Certificate, serial: string): SecretInfo {
  const ttl = Math.max(1, Math.floor((cert.notAfter.getTime() - Date.now()) / 1000));
  return { type: 'pki_cert', ttl, maxTtl: ttl, renewable: false, internalData: { serial_number: serial } };
}

/** Returns the usage settings of a role. */
export function roleUsage(role: Role): LeafUsage {
  return {
    keyUsage: role.key_usage,
    extKeyUsage: role.ext_key_usage,
    extKeyUsageOids: role.ext_key_usage_oids,
    serverFlag: role.server_flag,
    clientFlag: role.client_flag,
    codeSigningFlag: role.code_signing_flag,
    emailProtectionFlag: role.email_protection_flag,
  };
}
