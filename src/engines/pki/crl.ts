import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { x509 } from './x509.js';
import { BadRequestError } from '../../errors.js';
import { parseDuration } from '../../framework/duration.js';
import { parseSerial, signingAlgorithm } from './keys.js';
import { cachedSigningKey, parsedCertificate } from './signing-cache.js';
import type { PkiStore, StoredCert, StoredIssuer } from './store.js';

/**
 * Builds, signs and stores the CRL of one issuer. It lists every revoked certificate of the issuer
 * that tidy has not removed, or none when `config/crl` sets `disable`. The CRL number grows by one
 * with each build.
 */
export async function rebuildCrl(store: PkiStore, issuer: StoredIssuer): Promise<Buffer> {
  const key = issuer.keyId ? await store.getKey(issuer.keyId) : null;
  if (!key) throw new BadRequestError(`issuer "${issuer.name || issuer.id}" has no private key in this mount, so it cannot sign a CRL`);
  const config = await store.crlConfig();
  const previous = await store.getCrl(issuer.id);
  const number = (previous?.number ?? 0) + 1;

  const revoked = config.disable ? [] : (await store.listRevoked()).filter((entry) => entry.issuerId === issuer.id);
  const issuerCert = parsedCertificate(issuer.certificate);
  const now = new Date();
  const nextUpdate = new Date(now.getTime() + parseDuration(config.expiry, 'expiry') * 1000);
  const crlNumber = new x509.Extension(asn1X509.id_ce_cRLNumber, false, AsnConvert.serialize(new asn1X509.CRLNumber(number)));

  const crl = await x509.X509CrlGenerator.create({
    issuer: issuerCert.subjectName,
    thisUpdate: now,
    nextUpdate,
    signingKey: await cachedSigningKey(key),
    signingAlgorithm: signingAlgorithm(key.type, key.bits),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey), crlNumber],
    entries: revoked.map((entry) => ({
      serialNumber: entry.serial.replace(/:/g, ''),
      revocationDate: new Date((entry.revocationTime ?? 0) * 1000),
    })),
  });
  const der = Buffer.from(crl.rawData);
  await store.putCrl(issuer.id, { der: der.toString('base64'), number, nextUpdate: nextUpdate.getTime() });
  return der;
}

/**
 * Returns the issuer's current CRL as DER. It is built when missing, and with `auto_rebuild` also
 * when it is within the grace period of its NextUpdate, so a reader never gets an expired CRL.
 */
export async function currentCrl(store: PkiStore, issuer: StoredIssuer): Promise<Buffer> {
  const stored = await store.getCrl(issuer.id);
  if (stored) {
    const config = await store.crlConfig();
    const grace = parseDuration(config.auto_rebuild_grace_period, 'auto_rebuild_grace_period') * 1000;
    const stale = stored.nextUpdate - (config.auto_rebuild ? grace : 0) <= Date.now();
    if (!stale) return Buffer.from(stored.der, 'base64');
  }
  return rebuildCrl(store, issuer);
}

/** Rebuilds the CRL of every issuer that has a key and the crl-signing usage. */
export async function rebuildAllCrls(store: PkiStore): Promise<void> {
  for (const issuer of await store.listIssuers()) {
    if (issuer.keyId && issuer.usage.includes('crl-signing')) await rebuildCrl(store, issuer);
  }
}

/** What a revocation returns: Vault's `revocation_time` fields and state. */
export interface RevocationResult {
  revocation_time: number;
  revocation_time_rfc3339: string;
  state: 'revoked';
}

/**
 * Revokes a stored certificate by serial and, unless `auto_rebuild` defers it, rebuilds its
 * issuer's CRL. Revoking an already revoked certificate returns the first revocation time.
 */
export async function revokeSerial(store: PkiStore, serialValue: string): Promise<{ result: RevocationResult; warnings: string[] }> {
  const serial = parseSerial(serialValue);
  const stored = await store.getCert(serial);
  if (!stored) {
    throw new BadRequestError(`certificate with serial ${serial} not found: it was not issued by this mount or was issued with no_store; revoke it by certificate instead`);
  }
  return revokeStored(store, stored);
}

/** Revokes a certificate given as PEM; it must be signed by an issuer of this mount. */
export async function revokeCertificate(store: PkiStore, pem: string): Promise<{ result: RevocationResult; warnings: string[] }> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pem.trim());
  } catch (err) {
    throw new BadRequestError('invalid certificate: it is not a PEM-encoded X.509 certificate', { cause: err });
  }
  const serial = parseSerial(cert.serialNumber);
  const stored = await store.getCert(serial);
  if (stored) return revokeStored(store, stored);

  for (const issuer of await store.listIssuers()) {
    const issuerCert = new x509.X509Certificate(issuer.certificate);
    if (issuerCert.subject !== cert.issuer) continue;
    const signed = await cert.verify({ publicKey: issuerCert.publicKey, signatureOnly: true }).catch(() => false);
    if (signed) return revokeStored(store, { serial, certificate: cert.toString('pem'), issuerId: issuer.id, notAfter: cert.notAfter.getTime() });
  }
  throw new BadRequestError('the certificate was not issued by any issuer of this mount, so it cannot be revoked here');
}

async function revokeStored(store: PkiStore, stored: StoredCert): Promise<{ result: RevocationResult; warnings: string[] }> {
  const issuers = await store.listIssuers();
  if (issuers.some((issuer) => issuer.serial === stored.serial)) {
    throw new BadRequestError(`certificate ${stored.serial} is an issuer of this mount; delete the issuer instead of revoking it`);
  }
  const warnings: string[] = [];
  if (stored.revocationTime !== undefined) {
    return { result: resultOf(stored.revocationTime), warnings };
  }
  if (stored.notAfter <= Date.now()) warnings.push(`certificate ${stored.serial} has already expired; it is revoked anyway`);

  const revoked: StoredCert = { ...stored, revocationTime: Math.floor(Date.now() / 1000) };
  await store.putRevoked(revoked);

  const config = await store.crlConfig();
  const issuer = await store.getIssuer(stored.issuerId);
  if (!config.auto_rebuild && issuer?.keyId && issuer.usage.includes('crl-signing')) await rebuildCrl(store, issuer);
  return { result: resultOf(revoked.revocationTime!), warnings };
}

function resultOf(revocationTime: number): RevocationResult {
  return {
    revocation_time: revocationTime,
    revocation_time_rfc3339: new Date(revocationTime * 1000).toISOString(),
    state: 'revoked',
  };
}

/** Converts DER to a PEM block with the given label. */
export function derToPem(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
