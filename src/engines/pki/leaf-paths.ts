import { x509 } from './x509.js';
import { BadRequestError } from '../../errors.js';
import type { FieldValues, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { buildSubject, csrAltNamesExtension } from './certs.js';
import { computeValidity, issuanceFieldSpecs, issueLeaf, roleUsage } from './issue.js';
import { describeKey, generatePrivateKey, keyObjectOf, normalizeKeyParams, publicKeyOf } from './keys.js';
import { checkNames } from './names.js';
import { requireRole, type Role } from './roles.js';
import type { PkiStore } from './store.js';

const ROLE_NAME = '(?<role>[A-Za-z0-9_.@-]+)';

/** Builds `issue/ROLE`, `sign/ROLE`, `sign-verbatim` and `sign-verbatim/ROLE`. */
export function leafPaths(store: PkiStore): PathSpec[] {
  const csrField = { csr: { type: 'string' as const, description: 'PEM-encoded PKCS#10 certificate signing request.' } };
  const verbatimFields = {
    ...csrField,
    ...issuanceFieldSpecs,
    key_usage: { type: 'comma-string-list' as const, default: ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'], description: 'Key usages.' },
    ext_key_usage: { type: 'comma-string-list' as const, default: [], description: 'Extended key usages, such as ServerAuth.' },
    ext_key_usage_oids: { type: 'comma-string-list' as const, default: [], description: 'Extended key usages as OIDs.' },
  };
  return [
    {
      pattern: `issue/${ROLE_NAME}`,
      fields: issuanceFieldSpecs,
      operations: { update: (ctx) => issueWithRole(store, ctx) },
      help: 'Issues a certificate and a new private key under a role.',
    },
    {
      pattern: `sign/${ROLE_NAME}`,
      fields: { ...csrField, ...issuanceFieldSpecs },
      operations: { update: (ctx) => signWithRole(store, ctx) },
      help: "Signs a CSR under a role; the requester's private key never reaches Coffer.",
    },
    {
      pattern: `sign-verbatim(?:/${ROLE_NAME})?`,
      fields: verbatimFields,
      operations: { update: (ctx) => signVerbatim(store, ctx) },
      help: 'Signs a CSR with its subject and names unchanged; only the TTL and usage come from the request or role.',
    },
  ];
}

async function issueWithRole(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const roleName = ctx.params.role!;
  const role = await requireRole(store, roleName);
  if (role.key_type === 'any') {
    throw new BadRequestError(`role "${roleName}" has key_type "any", which only sign/ROLE accepts; set a key_type to issue`);
  }
  const fields = ctx.fields;
  const altNames = checkNames(roleName, role, requestedNames(fields, String(fields.common_name ?? ''), []));
  const issuer = await store.resolveIssuer(stringOr(fields.issuer_ref, role.issuer_ref));
  const validity = computeValidity(fields, limitsOf(role), issuer, ctx.backend);

  const { type, bits } = normalizeKeyParams(role.key_type, role.key_bits);
  const pem = await generatePrivateKey(type, bits);
  return issueLeaf(
    store,
    {
      subject: buildSubject({ ...role, common_name: String(fields.common_name ?? '') }),
      publicKey: publicKeyOf(pem),
      altNames,
      usage: roleUsage(role),
      validity,
      issuer,
      noStore: role.no_store,
      generateLease: role.generate_lease,
      privateKey: { pem, type },
    },
    fields,
  );
}

async function signWithRole(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const roleName = ctx.params.role!;
  const role = await requireRole(store, roleName);
  const fields = ctx.fields;
  const csr = await parseCsr(fields.csr);
  checkCsrKey(roleName, role, csr);

  const requestedCn = String(fields.common_name ?? '');
  const commonName = requestedCn !== '' || !role.use_csr_common_name ? requestedCn : (csr.subjectName.getField('CN')[0] ?? '');
  const csrNames = role.use_csr_sans ? csrAltNames(csr) : [];
  const altNames = checkNames(roleName, role, requestedNames(fields, commonName, csrNames));
  const issuer = await store.resolveIssuer(stringOr(fields.issuer_ref, role.issuer_ref));
  const validity = computeValidity(fields, limitsOf(role), issuer, ctx.backend);

  return issueLeaf(
    store,
    {
      subject: buildSubject({ ...role, common_name: commonName }),
      publicKey: csr.publicKey,
      altNames,
      usage: roleUsage(role),
      validity,
      issuer,
      noStore: role.no_store,
      generateLease: role.generate_lease,
    },
    fields,
  );
}

async function signVerbatim(store: PkiStore, ctx: HandlerContext): Promise<LogicalResponse> {
  const fields = ctx.fields;
  const role = ctx.params.role ? await requireRole(store, ctx.params.role) : null;
  const csr = await parseCsr(fields.csr);
  // Without a role, sign-verbatim still refuses weak keys, as a role with key_type "any" does.
  checkCsrKey(role ? ctx.params.role : 'sign-verbatim', role ?? ({ key_type: 'any', key_bits: 0 } as Role), csr);
  const issuer = await store.resolveIssuer(stringOr(fields.issuer_ref, role?.issuer_ref ?? 'default'));
  const limits = role ? limitsOf(role) : { ttl: 0, maxTtl: 0, notBeforeDuration: 30 };
  const validity = computeValidity(fields, limits, issuer, ctx.backend);

  return issueLeaf(
    store,
    {
      subject: csr.subjectName,
      publicKey: csr.publicKey,
      altNames: null,
      verbatimAltNames: csrAltNamesExtension(csr) ?? undefined,
      usage: {
        keyUsage: fields.key_usage as string[],
        extKeyUsage: fields.ext_key_usage as string[],
        extKeyUsageOids: fields.ext_key_usage_oids as string[],
        serverFlag: false,
        clientFlag: false,
        codeSigningFlag: false,
        emailProtectionFlag: false,
      },
      validity,
      issuer,
      noStore: role?.no_store ?? false,
      generateLease: role?.generate_lease ?? false,
    },
    fields,
  );
}

/** Parses and verifies a PEM CSR; a malformed CSR or a bad self-signature is a 400. */
export async function parseCsr(value: unknown): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof value !== 'string' || value.trim() === '') throw new BadRequestError('missing csr: send a PEM-encoded PKCS#10 request');
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(value.trim());
  } catch (err) {
    throw new BadRequestError('invalid csr: it is not a PEM-encoded PKCS#10 certificate signing request', { cause: err });
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch (err) {
    throw new BadRequestError('invalid csr: its signature could not be checked (unsupported key or algorithm)', { cause: err });
  }
  if (!valid) throw new BadRequestError('invalid csr: its signature does not match its public key');
  return csr;
}

/** Rejects a CSR key whose type differs from the role's or whose size is below it. */
function checkCsrKey(roleName: string, role: Role, csr: x509.Pkcs10CertificateRequest): void {
  const { type, bits } = describeKey(keyObjectOf(csr.publicKey));
  if (role.key_type === 'any') {
    if (type === 'rsa' && bits < 2048) throw new BadRequestError(`CSR key is RSA ${bits} bits; role "${roleName}" requires at least 2048 bits`);
    return;
  }
  if (type !== role.key_type) {
    throw new BadRequestError(`CSR key type is "${type}" but role "${roleName}" requires key_type "${role.key_type}"`);
  }
  const required = normalizeKeyParams(role.key_type, role.key_bits).bits;
  if (type === 'rsa' && bits < required) {
    throw new BadRequestError(`CSR key is RSA ${bits} bits, smaller than the ${required} bits role "${roleName}" requires`);
  }
  // NOTE: an EC key must use exactly the role's curve, so a larger curve is rejected too.
  if (type === 'ec' && role.key_bits !== 0 && bits !== required) {
    throw new BadRequestError(`CSR key is EC ${bits} bits but role "${roleName}" requires EC ${required} bits`);
  }
}

/** Reads DNS names, emails, IPs and URIs from a CSR's requested subjectAltName. */
function csrAltNames(csr: x509.Pkcs10CertificateRequest): Array<{ type: string; value: string }> {
  try {
    const extension = csrAltNamesExtension(csr);
    return extension ? extension.names.items.map((name) => ({ type: name.type, value: name.value })) : [];
  } catch (err) {
    throw new BadRequestError('invalid csr: its subjectAltName contains an unsupported name type (such as otherName)', { cause: err });
  }
}

function requestedNames(fields: FieldValues, commonName: string, csrNames: Array<{ type: string; value: string }>) {
  const pick = (type: string) => csrNames.filter((name) => name.type === type).map((name) => name.value);
  return {
    commonName,
    altNames: [...((fields.alt_names as string[]) ?? []), ...pick('dns'), ...pick('email')],
    ipSans: [...((fields.ip_sans as string[]) ?? []), ...pick('ip')],
    uriSans: [...((fields.uri_sans as string[]) ?? []), ...pick('url')],
    otherSans: (fields.other_sans as string[]) ?? [],
    excludeCnFromSans: fields.exclude_cn_from_sans === true,
  };
}

function limitsOf(role: Role) {
  return { ttl: role.ttl, maxTtl: role.max_ttl, notBeforeDuration: role.not_before_duration };
}

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}
