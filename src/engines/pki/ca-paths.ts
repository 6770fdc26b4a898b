import { x509 } from './x509.js';
import { BadRequestError } from '../../errors.js';
import type { FieldSpec, FieldValues, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import {
  altNamesExtension,
  buildSubject,
  caExtensions,
  csrAltNamesExtension,
  checkIpSans,
  encodeCert,
  expirationOf,
  permittedDomainsExtension,
  signCertificate,
  splitPem,
  urlExtensions,
  type AltNames,
  type SubjectFields,
} from './certs.js';
import { certificateData, checkFormats, computeValidity, signerFor } from './issue.js';
import {
  exportPrivateKey,
  formatSerial,
  generatePrivateKey,
  importKeyPair,
  keyMatches,
  normalizeKeyParams,
  normalizePrivateKeyPem,
  publicKeyOf,
  signingAlgorithm,
  type StoredKey,
} from './keys.js';
import { parseCsr } from './leaf-paths.js';
import type { PkiStore } from './store.js';

const list = (description: string): FieldSpec => ({ type: 'comma-string-list', description });

/** Subject and name fields shared by root generation, intermediate CSRs and sign-intermediate. */
const subjectFieldSpecs: Record<string, FieldSpec> = {
  common_name: { type: 'string', description: 'Common name of the CA certificate.' },
  alt_names: list('DNS names and email addresses for the subjectAltName.'),
  ip_sans: list('IP addresses for the subjectAltName.'),
  uri_sans: list('URIs for the subjectAltName.'),
  other_sans: list('Other SANs as OID;UTF8:value.'),
  ou: list('OU values of the subject.'),
  organization: list('O values of the subject.'),
  country: list('C values of the subject.'),
  locality: list('L values of the subject.'),
  province: list('ST values of the subject.'),
  street_address: list('Street values of the subject.'),
  postal_code: list('Postal code values of the subject.'),
  serial_number: { type: 'string', description: 'The subject serialNumber attribute (not the certificate serial).' },
  exclude_cn_from_sans: { type: 'bool', default: false, description: 'Leaves the common name out of the subjectAltName.' },
  format: { type: 'string', default: 'pem', description: 'Encoding of certificates: pem, der or pem_bundle.' },
  private_key_format: { type: 'string', default: 'der', description: 'Encoding of an exported private key: der, pem or pkcs8.' },
};

const keyFieldSpecs: Record<string, FieldSpec> = {
  key_type: { type: 'string', default: 'rsa', description: 'Key type: rsa, ec or ed25519.' },
  key_bits: { type: 'int', default: 0, description: 'Key size in bits; 0 means 2048 for RSA and 256 for EC.' },
  key_name: { type: 'string', default: '', description: 'Name of the new key.' },
  key_ref: { type: 'string', description: 'Existing key to use with the "existing" type.' },
};

const caFieldSpecs: Record<string, FieldSpec> = {
  ttl: { type: 'duration', description: 'Validity of the CA certificate; capped by the mount max TTL.' },
  not_after: { type: 'string', description: 'NotAfter as an RFC 3339 time; overrides ttl.' },
  not_before_duration: { type: 'duration', default: 30, description: 'How far NotBefore is backdated.' },
  max_path_length: { type: 'int', default: -1, description: 'Maximum number of intermediate CAs below this one; -1 means no limit.' },
  permitted_dns_domains: list('DNS domains written into a critical nameConstraints extension.'),
  issuer_name: { type: 'string', default: '', description: 'Name of the new issuer.' },
};

/** Builds the paths that create, sign, import and delete CA certificates. */
export function caPaths(store: PkiStore): PathSpec[] {
  return [
    {
      pattern: 'root/generate/(?<type>internal|exported|existing|kms)',
      fields: { ...subjectFieldSpecs, ...keyFieldSpecs, ...caFieldSpecs },
      operations: { update: (ctx) => generateRoot(store, ctx) },
      help: 'Generates a self-signed root CA; "exported" also returns its private key.',
    },
    {
      pattern: 'intermediate/generate/(?<type>internal|exported|existing|kms)',
      fields: {
        ...subjectFieldSpecs,
        ...keyFieldSpecs,
        add_basic_constraints: { type: 'bool', default: false, description: 'Adds CA:TRUE basic constraints to the CSR.' },
      },
      operations: { update: (ctx) => generateIntermediateCsr(store, ctx) },
      help: 'Generates a key and a CSR for an intermediate CA, to be signed by another CA.',
    },
    {
      pattern: 'root/sign-intermediate|issuer/(?<issuer_ref>[^/]+)/sign-intermediate',
      fields: {
        csr: { type: 'string', description: 'PEM-encoded CSR of the intermediate CA.' },
        use_csr_values: { type: 'bool', default: false, description: 'Uses the subject and names of the CSR.' },
        issuer_ref: { type: 'string', description: 'Issuer that signs; defaults to the default issuer.' },
        ...subjectFieldSpecs,
        ...caFieldSpecs,
      },
      operations: { update: (ctx) => signIntermediate(store, ctx) },
      help: 'Signs an intermediate CA certificate with a root or another intermediate.',
    },
    {
      pattern: 'intermediate/set-signed',
      fields: { certificate: { type: 'string', description: 'PEM certificate signed for a CSR from intermediate/generate, optionally with its chain.' } },
      operations: { update: (ctx) => importBundle(store, String(ctx.fields.certificate ?? ''), true) },
      help: 'Imports the signed intermediate certificate for a key in this mount.',
    },
    {
      pattern: 'config/ca|issuers/import/(?:cert|bundle)',
      fields: { pem_bundle: { type: 'string', description: 'PEM certificates and private keys to import.' } },
      operations: { update: (ctx) => importBundle(store, String(ctx.fields.pem_bundle ?? ''), false) },
      help: 'Imports CA certificates and keys from a PEM bundle.',
    },
    {
      pattern: 'root',
      operations: { delete: () => deleteAllIssuers(store) },
      help: 'Deletes every issuer and key of the mount.',
    },
  ];
}

/** Resolves or creates the key of a new CA, as `internal`, `exported` or `existing` asks. */
async function keyForCa(store: PkiStore, ctx: HandlerContext): Promise<StoredKey> {
  const fields = ctx.fields;
  const type = ctx.params.type!;
  if (type === 'kms') throw new BadRequestError('managed keys (kms) are not supported: use internal, exported or existing');
  if (type === 'existing') return store.resolveKey(typeof fields.key_ref === 'string' ? fields.key_ref : 'default');

  const { type: keyType, bits } = normalizeKeyParams(String(fields.key_type), Number(fields.key_bits));
  await store.checkNameFree('key', String(fields.key_name ?? ''));
  const pem = await generatePrivateKey(keyType, bits);
  return store.addKey(pem, keyType, bits, String(fields.key_name ?? ''));
}

/** Reads subject fields and unchecked SANs for a CA certificate or CSR. */
function caNames(fields: FieldValues): { subject: x509.Name; names: AltNames } {
  const commonName = String(fields.common_name ?? '');
  const names: AltNames = {
    dns: [...((fields.alt_names as string[]) ?? [])].filter((name) => !name.includes('@')),
    emails: [...((fields.alt_names as string[]) ?? [])].filter((name) => name.includes('@')),
    ips: checkIpSans((fields.ip_sans as string[]) ?? []),
    uris: (fields.uri_sans as string[]) ?? [],
    otherSans: (fields.other_sans as string[]) ?? [],
  };
  if (commonName !== '' && fields.exclude_cn_from_sans !== true) {
    if (checkIsIp(commonName)) names.ips.unshift(commonName);
    else if (commonName.includes('@')) names.emails.unshift(commonName);
    else names.dns.unshift(commonName);
  }
  return { subject: buildSubject(fields as SubjectFields), names };
}

function checkIsIp(value: string): boolean {
  try {
    checkIpSans([value]);
    return true;
  } catch {
    return false;
  }
}

function requireCommonName(fields: FieldValues): void {
  if (typeof fields.common_name !== 'string' || fields.common_name === '') {
    throw new BadRequestError('missing common_name: a CA certificate needs a common name');
  }
}

async function generateRoot(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const fields = ctx.fields;
  requireCommonName(fields);
  const { format, keyFormat } = checkFormats(fields);
  await store.checkNameFree('issuer', String(fields.issuer_name ?? ''));
  const validity = computeValidity(fields, { ttl: 0, maxTtl: 0, notBeforeDuration: Number(fields.not_before_duration) }, null, ctx.backend);
  const { subject, names } = caNames(fields);
  const key = await keyForCa(store, ctx);

  const extensions = [...caExtensions(Number(fields.max_path_length)), ...urlExtensions(await store.urls())];
  const sans = altNamesExtension(names);
  if (sans) extensions.push(sans);
  const constraints = permittedDomainsExtension((fields.permitted_dns_domains as string[]) ?? []);
  if (constraints) extensions.push(constraints);

  const cert = await signCertificate(
    { subject, publicKey: publicKeyOf(key.privateKeyPem), notBefore: validity.notBefore, notAfter: validity.notAfter, extensions },
    { key },
  );
  const pem = cert.toString('pem');
  const serial = formatSerial(cert.serialNumber);
  const issuer = await store.addIssuer({ name: String(fields.issuer_name ?? ''), keyId: key.id, certificate: pem, caChain: [], serial });
  await store.putCert({ serial, certificate: pem, issuerId: issuer.id, notAfter: cert.notAfter.getTime() });

  const encoding = format === 'der' ? 'der' : 'pem';
  const data: Record<string, unknown> = {
    certificate: encodeCert(cert, encoding),
    issuing_ca: encodeCert(cert, encoding),
    serial_number: serial,
    expiration: expirationOf(cert),
    issuer_id: issuer.id,
    issuer_name: issuer.name,
    key_id: key.id,
    key_name: key.name,
  };
  if (ctx.params.type === 'exported') {
    data.private_key = exportPrivateKey(key.privateKeyPem, key.type, encoding === 'der' ? 'der' : keyFormat === 'pkcs8' ? 'pkcs8' : 'pem');
    data.private_key_type = key.type;
  }
  return validity.warnings.length > 0 ? { data, warnings: validity.warnings } : { data };
}

async function generateIntermediateCsr(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const fields = ctx.fields;
  requireCommonName(fields);
  const { format, keyFormat } = checkFormats(fields);
  const { subject, names } = caNames(fields);
  const key = await keyForCa(store, ctx);

  const extensions: x509.Extension[] = [];
  const sans = altNamesExtension(names);
  if (sans) extensions.push(sans);
  if (fields.add_basic_constraints === true) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys: await importKeyPair(key),
    signingAlgorithm: signingAlgorithm(key.type, key.bits),
    extensions,
  });

  const data: Record<string, unknown> = {
    csr: format === 'der' ? Buffer.from(csr.rawData).toString('base64') : csr.toString('pem'),
    key_id: key.id,
  };
  if (ctx.params.type === 'exported') {
    data.private_key = exportPrivateKey(key.privateKeyPem, key.type, format === 'der' ? 'der' : keyFormat === 'pkcs8' ? 'pkcs8' : 'pem');
    data.private_key_type = key.type;
  }
  return { data };
}

async function signIntermediate(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const fields = ctx.fields;
  const { format } = checkFormats(fields);
  const csr = await parseCsr(fields.csr);
  const issuer = await store.resolveIssuer(typeof fields.issuer_ref === 'string' ? fields.issuer_ref : undefined);
  const key = await signerFor(store, issuer);
  const validity = computeValidity(fields, { ttl: 0, maxTtl: 0, notBeforeDuration: Number(fields.not_before_duration) }, issuer, ctx.backend);

  let subject: x509.Name;
  let sans: x509.Extension | null;
  if (fields.use_csr_values === true) {
    subject = csr.subjectName;
    sans = csrAltNamesExtension(csr);
  } else {
    const commonName = String(fields.common_name ?? '') || (csr.subjectName.getField('CN')[0] ?? '');
    if (commonName === '') throw new BadRequestError('missing common_name: set it or send a CSR with a common name');
    const built = caNames({ ...fields, common_name: commonName });
    subject = built.subject;
    sans = altNamesExtension(built.names);
  }

  // A CA may not allow a longer chain below it than it has itself.
  const parentLimit = new x509.X509Certificate(issuer.certificate).getExtension(x509.BasicConstraintsExtension)?.pathLength;
  let pathLength = Number(fields.max_path_length);
  if (parentLimit !== undefined) {
    if (parentLimit === 0) throw new BadRequestError(`issuer "${issuer.name || issuer.id}" has max_path_length 0, so it cannot sign an intermediate CA`);
    pathLength = pathLength < 0 ? parentLimit - 1 : Math.min(pathLength, parentLimit - 1);
  }
  const extensions = [...caExtensions(pathLength), ...urlExtensions(await store.urls())];
  if (sans) extensions.push(sans);
  const constraints = permittedDomainsExtension((fields.permitted_dns_domains as string[]) ?? []);
  if (constraints) extensions.push(constraints);

  const cert = await signCertificate(
    { subject, publicKey: csr.publicKey, notBefore: validity.notBefore, notAfter: validity.notAfter, extensions },
    { key, issuer },
  );
  const serial = formatSerial(cert.serialNumber);
  await store.putCert({ serial, certificate: cert.toString('pem'), issuerId: issuer.id, notAfter: cert.notAfter.getTime() });

  const data = certificateData(cert, issuer, format, false);
  return validity.warnings.length > 0 ? { data, warnings: validity.warnings } : { data };
}

/**
 * Imports PEM certificates (and, from `config/ca`, private keys). Each CA certificate becomes an
 * issuer; it is linked to the key in this mount whose public key it carries, and its chain is
 * built from the other certificates of the bundle and the issuers already present.
 */
async function importBundle(store: PkiStore, bundle: string, requireKey: boolean): Promise<LogicalResponse> {
  const blocks = splitPem(bundle);
  if (blocks.length === 0) throw new BadRequestError('missing PEM data: send one or more PEM certificates');

  const certs: x509.X509Certificate[] = [];
  const importedKeys: string[] = [];
  const existingKeys: string[] = [];
  let keys = await store.listKeys();
  for (const block of blocks) {
    if (/-----BEGIN CERTIFICATE-----/.test(block)) {
      try {
        certs.push(new x509.X509Certificate(block));
      } catch (err) {
        throw new BadRequestError('invalid certificate in the PEM bundle: it could not be parsed', { cause: err });
      }
      continue;
    }
    if (requireKey) throw new BadRequestError('intermediate/set-signed takes certificates only; import keys with config/ca');
    const parsed = normalizePrivateKeyPem(block);
    const present = keys.find((key) => key.privateKeyPem === parsed.pem);
    if (present) {
      existingKeys.push(present.id);
      continue;
    }
    const added = await store.addKey(parsed.pem, parsed.type, parsed.bits);
    importedKeys.push(added.id);
    keys = [...keys, added];
  }
  if (certs.length === 0) throw new BadRequestError('missing certificate: the PEM bundle holds no certificate');

  const caCerts = certs.filter((cert) => cert.getExtension(x509.BasicConstraintsExtension)?.ca === true);
  if (caCerts.length === 0) throw new BadRequestError('the PEM bundle holds no CA certificate (basic constraints CA:TRUE)');
  if (requireKey && !caCerts.some((cert) => keys.some((key) => keyMatches(key.privateKeyPem, cert.publicKey)))) {
    throw new BadRequestError('the certificate does not match any key in this mount: sign the CSR from intermediate/generate');
  }

  const existing = await store.listIssuers();
  const importedIssuers: string[] = [];
  const existingIssuers: string[] = [];
  const mapping: Record<string, string> = {};
  for (const cert of caCerts) {
    const pem = cert.toString('pem');
    const present = existing.find((issuer) => issuer.certificate === pem);
    if (present) {
      existingIssuers.push(present.id);
      mapping[present.id] = present.keyId;
      continue;
    }
    const key = keys.find((candidate) => keyMatches(candidate.privateKeyPem, cert.publicKey));
    const caChain = await buildChain(cert, [...caCerts, ...existing.map((issuer) => new x509.X509Certificate(issuer.certificate))]);
    const issuer = await store.addIssuer({ name: '', keyId: key?.id ?? '', certificate: pem, caChain, serial: formatSerial(cert.serialNumber) });
    importedIssuers.push(issuer.id);
    mapping[issuer.id] = issuer.keyId;
  }
  return {
    data: {
      imported_issuers: importedIssuers.length ? importedIssuers : null,
      imported_keys: importedKeys.length ? importedKeys : null,
      existing_issuers: existingIssuers.length ? existingIssuers : null,
      existing_keys: existingKeys.length ? existingKeys : null,
      mapping,
    },
  };
}

/** Follows issuer names upward, checking each signature, and returns the PEMs above `cert`. */
async function buildChain(cert: x509.X509Certificate, candidates: x509.X509Certificate[]): Promise<string[]> {
  const chain: string[] = [];
  let current = cert;
  for (let depth = 0; depth < 10 && current.subject !== current.issuer; depth++) {
    let parent: x509.X509Certificate | undefined;
    for (const candidate of candidates) {
      if (candidate.subject !== current.issuer) continue;
      if (await current.verify({ publicKey: candidate.publicKey, signatureOnly: true }).catch(() => false)) {
        parent = candidate;
        break;
      }
    }
    if (!parent) break;
    chain.push(parent.toString('pem'));
    current = parent;
  }
  return chain;
}

async function deleteAllIssuers(store: PkiStore): Promise<LogicalResponse | null> {
  for (const issuer of await store.listIssuers()) await store.deleteIssuer(issuer.id);
  for (const key of await store.listKeys()) await store.deleteKey(key.id);
  const defaults = await store.defaults();
  await store.putDefaults({ ...defaults, defaultIssuer: '', defaultKey: '' });
  return null;
}
