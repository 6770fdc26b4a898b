import { isIP } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import { x509 } from './x509.js';
import { BadRequestError } from '../../errors.js';
import { newSerialHex, publicKeyOf, signingAlgorithm, type StoredKey } from './keys.js';
import { authorityKeyIdFor, cachedSigningKey, parsedCertificate } from './signing-cache.js';
import type { StoredIssuer, UrlConfig } from './store.js';

/** Subject fields a request may set, by Vault's field names. */
export interface SubjectFields {
  common_name?: string;
  ou?: string[];
  organization?: string[];
  country?: string[];
  locality?: string[];
  province?: string[];
  street_address?: string[];
  postal_code?: string[];
  serial_number?: string;
}

/** Subject alternative names of a certificate, already checked against the role. */
export interface AltNames {
  dns: string[];
  emails: string[];
  ips: string[];
  uris: string[];
  /** `OID;UTF8:value` entries, written as otherName with a UTF8String value. */
  otherSans: string[];
}

/**
 * Builds the subject name from request fields, in the order Vault writes the attributes. Street,
 * postal code and serial number go by OID because @peculiar/x509 has no short names for them.
 */
export function buildSubject(fields: SubjectFields): x509.Name {
  const attributes: Array<Record<string, string[]>> = [];
  const add = (type: string, values: string[] | undefined) => {
    for (const value of values ?? []) if (value !== '') attributes.push({ [type]: [value] });
  };
  add('C', fields.country);
  add('ST', fields.province);
  add('L', fields.locality);
  add('2.5.4.9', fields.street_address);
  add('2.5.4.17', fields.postal_code);
  add('O', fields.organization);
  add('OU', fields.ou);
  if (fields.common_name) attributes.push({ CN: [fields.common_name] });
  if (fields.serial_number) attributes.push({ '2.5.4.5': [fields.serial_number] });
  return new x509.Name(attributes);
}

/** Builds the subjectAltName extension, or returns null when there are no names. */
export function altNamesExtension(names: AltNames): x509.Extension | null {
  const general: asn1X509.GeneralName[] = [];
  for (const dns of names.dns) general.push(new asn1X509.GeneralName({ dNSName: dns }));
  for (const email of names.emails) general.push(new asn1X509.GeneralName({ rfc822Name: email }));
  for (const ip of names.ips) general.push(new asn1X509.GeneralName({ iPAddress: ip }));
  for (const uri of names.uris) general.push(new asn1X509.GeneralName({ uniformResourceIdentifier: uri }));
  for (const other of names.otherSans) general.push(otherNameOf(other));
  if (general.length === 0) return null;
  const value = AsnConvert.serialize(new asn1X509.SubjectAlternativeName(general));
  return new x509.Extension(asn1X509.id_ce_subjectAltName, false, value);
}

/** Parses Vault's `OID;UTF8:value` other-SAN syntax into an otherName GeneralName. */
function otherNameOf(entry: string): asn1X509.GeneralName {
  const match = /^([0-9]+(?:\.[0-9]+)+);(?:UTF8|UTF-8):(.*)$/i.exec(entry);
  if (!match) throw new BadRequestError(`invalid other_sans entry "${entry.slice(0, 80)}": use OID;UTF8:value`);
  const value = AsnConvert.serialize(new asn1X509.DirectoryString({ utf8String: match[2]! }));
  return new asn1X509.GeneralName({ otherName: new asn1X509.OtherName({ typeId: match[1]!, value }) });
}

/** Builds the Authority Information Access and CRL Distribution Points extensions from config/urls. */
export function urlExtensions(urls: UrlConfig): x509.Extension[] {
  const extensions: x509.Extension[] = [];
  if (urls.issuing_certificates.length > 0 || urls.ocsp_servers.length > 0) {
    extensions.push(new x509.AuthorityInfoAccessExtension({ caIssuers: urls.issuing_certificates, ocsp: urls.ocsp_servers }));
  }
  if (urls.crl_distribution_points.length > 0) {
    extensions.push(new x509.CRLDistributionPointsExtension(urls.crl_distribution_points));
  }
  return extensions;
}

/** Builds a critical nameConstraints extension that permits only the given DNS domains. */
export function permittedDomainsExtension(domains: string[]): x509.Extension | null {
  if (domains.length === 0) return null;
  const subtrees = domains.map((domain) => new asn1X509.GeneralSubtree({ base: new asn1X509.GeneralName({ dNSName: domain }) }));
  const value = AsnConvert.serialize(new asn1X509.NameConstraints({ permittedSubtrees: new asn1X509.GeneralSubtrees(subtrees) }));
  return new x509.Extension(asn1X509.id_ce_nameConstraints, true, value);
}

/** Splits names into IP addresses and DNS names, as Vault reads `alt_names` and `ip_sans`. */
export function checkIpSans(ips: string[]): string[] {
  for (const ip of ips) {
    if (isIP(ip) === 0) throw new BadRequestError(`invalid IP SAN "${ip.slice(0, 80)}": use an IPv4 or IPv6 address`);
  }
  return ips;
}

/** The issuing side of a signature: an issuer with its key, or a key signing its own certificate. */
export interface Signer {
  key: StoredKey;
  /** Absent for a self-signed root. */
  issuer?: StoredIssuer;
}

/** The parts of a new certificate that differ between roots, intermediates and leaves. */
export interface CertificateTemplate {
  subject: x509.Name;
  publicKey: x509.PublicKey;
  notBefore: Date;
  notAfter: Date;
  extensions: x509.Extension[];
}

/**
 * Signs a certificate. Adds the subject and authority key identifiers, and copies the issuer's
 * subject name from its certificate so the chain links byte for byte.
 */
export async function signCertificate(template: CertificateTemplate, signer: Signer): Promise<x509.X509Certificate> {
  const issuerCert = signer.issuer ? parsedCertificate(signer.issuer.certificate) : null;
  const authorityKeyId = signer.issuer
    ? await authorityKeyIdFor(signer.issuer.certificate)
    : await x509.AuthorityKeyIdentifierExtension.create(publicKeyOf(signer.key.privateKeyPem));
  const extensions = [
    ...template.extensions,
    await x509.SubjectKeyIdentifierExtension.create(template.publicKey),
    authorityKeyId,
  ];
  return x509.X509CertificateGenerator.create({
    serialNumber: newSerialHex(),
    subject: template.subject,
    issuer: issuerCert ? issuerCert.subjectName : template.subject,
    notBefore: template.notBefore,
    notAfter: template.notAfter,
    publicKey: template.publicKey,
    signingKey: await cachedSigningKey(signer.key),
    signingAlgorithm: signingAlgorithm(signer.key.type, signer.key.bits),
    extensions,
  });
}

/** Extensions of a CA certificate: critical basic constraints and key usage for signing. */
export function caExtensions(maxPathLength: number): x509.Extension[] {
  const pathLength = maxPathLength >= 0 ? maxPathLength : undefined;
  return [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
      true,
    ),
  ];
}

/** Key usage flags by Vault's names (`DigitalSignature`, ...); matching ignores case. */
const KEY_USAGE_FLAGS: Record<string, x509.KeyUsageFlags> = {
  digitalsignature: x509.KeyUsageFlags.digitalSignature,
  contentcommitment: x509.KeyUsageFlags.nonRepudiation,
  keyencipherment: x509.KeyUsageFlags.keyEncipherment,
  dataencipherment: x509.KeyUsageFlags.dataEncipherment,
  keyagreement: x509.KeyUsageFlags.keyAgreement,
  certsign: x509.KeyUsageFlags.keyCertSign,
  crlsign: x509.KeyUsageFlags.cRLSign,
  encipheronly: x509.KeyUsageFlags.encipherOnly,
  decipheronly: x509.KeyUsageFlags.decipherOnly,
};

/** Extended key usage OIDs by Vault's names (`ServerAuth`, ...); matching ignores case. */
const EXT_KEY_USAGE_OIDS: Record<string, string> = {
  any: '2.5.29.37.0',
  serverauth: '1.3.6.1.5.5.7.3.1',
  clientauth: '1.3.6.1.5.5.7.3.2',
  codesigning: '1.3.6.1.5.5.7.3.3',
  emailprotection: '1.3.6.1.5.5.7.3.4',
  ipsecendsystem: '1.3.6.1.5.5.7.3.5',
  ipsectunnel: '1.3.6.1.5.5.7.3.6',
  ipsecuser: '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  ocspsigning: '1.3.6.1.5.5.7.3.9',
};

/** Leaf usage settings from a role or a sign-verbatim request. */
export interface LeafUsage {
  keyUsage: string[];
  extKeyUsage: string[];
  extKeyUsageOids: string[];
  serverFlag: boolean;
  clientFlag: boolean;
  codeSigningFlag: boolean;
  emailProtectionFlag: boolean;
}

/** Extensions of a leaf certificate: CA:FALSE, key usage and extended key usage. */
export function leafExtensions(usage: LeafUsage): x509.Extension[] {
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];

  let flags = 0;
  for (const name of usage.keyUsage) {
    const flag = KEY_USAGE_FLAGS[name.trim().toLowerCase()];
    if (flag === undefined) throw new BadRequestError(`invalid key_usage "${name.slice(0, 40)}": use names such as DigitalSignature or KeyEncipherment`);
    flags |= flag;
  }
  if (flags !== 0) extensions.push(new x509.KeyUsagesExtension(flags, true));

  const oids = new Set<string>();
  if (usage.serverFlag) oids.add(EXT_KEY_USAGE_OIDS.serverauth!);
  if (usage.clientFlag) oids.add(EXT_KEY_USAGE_OIDS.clientauth!);
  if (usage.codeSigningFlag) oids.add(EXT_KEY_USAGE_OIDS.codesigning!);
  if (usage.emailProtectionFlag) oids.add(EXT_KEY_USAGE_OIDS.emailprotection!);
  for (const name of usage.extKeyUsage) {
    const oid = EXT_KEY_USAGE_OIDS[name.trim().toLowerCase()];
    if (!oid) throw new BadRequestError(`invalid ext_key_usage "${name.slice(0, 40)}": use names such as ServerAuth or ClientAuth`);
    oids.add(oid);
  }
  for (const oid of usage.extKeyUsageOids) {
    if (!/^[0-9]+(\.[0-9]+)+$/.test(oid)) throw new BadRequestError(`invalid ext_key_usage_oids entry "${oid.slice(0, 40)}": use a dotted OID`);
    oids.add(oid);
  }
  if (oids.size > 0) extensions.push(new x509.ExtendedKeyUsageExtension([...oids], false));
  return extensions;
}

/** Encodes a certificate for a response: PEM, or base64 DER for `format=der`. */
export function encodeCert(cert: x509.X509Certificate | string, format: string): string {
  const parsed = typeof cert === 'string' ? parsedCertificate(cert) : cert;
  if (format === 'der') return Buffer.from(parsed.rawData).toString('base64');
  return parsed.toString('pem');
}

/** Returns the certificate's NotAfter as Unix seconds, as Vault's `expiration` field. */
export function expirationOf(cert: x509.X509Certificate): number {
  return Math.floor(cert.notAfter.getTime() / 1000);
}

/** Splits a PEM bundle into its blocks, keeping each block's header and footer. */
export function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN [A-Z0-9 ]+-----[\s\S]+?-----END [A-Z0-9 ]+-----/g) ?? [];
}

/** Returns the subjectAltName a CSR requests, or null when it requests none. */
export function csrAltNamesExtension(csr: x509.Pkcs10CertificateRequest): x509.SubjectAlternativeNameExtension | null {
  const extension = csr.getExtension(asn1X509.id_ce_subjectAltName);
  return extension ? new x509.SubjectAlternativeNameExtension(extension.rawData) : null;
}
