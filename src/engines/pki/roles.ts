import { BadRequestError } from '../../errors.js';
import type { FieldSpec, FieldValues, HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { normalizeKeyParams } from './keys.js';
import type { PkiStore } from './store.js';

/** A role: the rules a certificate issued through `issue/NAME` or `sign/NAME` must follow. */
export interface Role {
  ttl: number;
  max_ttl: number;
  allow_localhost: boolean;
  allowed_domains: string[];
  allow_bare_domains: boolean;
  allow_subdomains: boolean;
  allow_glob_domains: boolean;
  allow_wildcard_certificates: boolean;
  allow_any_name: boolean;
  enforce_hostnames: boolean;
  allow_ip_sans: boolean;
  allowed_uri_sans: string[];
  allowed_other_sans: string[];
  server_flag: boolean;
  client_flag: boolean;
  code_signing_flag: boolean;
  email_protection_flag: boolean;
  key_type: string;
  key_bits: number;
  key_usage: string[];
  ext_key_usage: string[];
  ext_key_usage_oids: string[];
  use_csr_common_name: boolean;
  use_csr_sans: boolean;
  ou: string[];
  organization: string[];
  country: string[];
  locality: string[];
  province: string[];
  street_address: string[];
  postal_code: string[];
  generate_lease: boolean;
  no_store: boolean;
  require_cn: boolean;
  not_before_duration: number;
  issuer_ref: string;
}

type RoleFieldKind = 'bool' | 'list' | 'duration' | 'int' | 'string';

/** Each role field with its kind, default and help text. Durations are stored as seconds. */
const ROLE_FIELDS: Record<keyof Role, [RoleFieldKind, unknown, string]> = {
  ttl: ['duration', 0, 'Default TTL of issued certificates; 0 uses the mount default.'],
  max_ttl: ['duration', 0, 'Maximum TTL of issued certificates; 0 uses the mount maximum.'],
  allow_localhost: ['bool', true, 'Allows "localhost" and "localdomain" as names.'],
  allowed_domains: ['list', [], 'Domains that names may be in (see allow_bare_domains, allow_subdomains, allow_glob_domains).'],
  allow_bare_domains: ['bool', false, 'Allows a name equal to an allowed domain.'],
  allow_subdomains: ['bool', false, 'Allows names below an allowed domain, wildcards included.'],
  allow_glob_domains: ['bool', false, 'Treats "*" in allowed_domains as a glob.'],
  allow_wildcard_certificates: ['bool', true, 'Allows names with a leading "*." label.'],
  allow_any_name: ['bool', false, 'Allows any name; enforce_hostnames still applies.'],
  enforce_hostnames: ['bool', true, 'Requires DNS names to be valid hostnames.'],
  allow_ip_sans: ['bool', true, 'Allows IP subject alternative names.'],
  allowed_uri_sans: ['list', [], 'Globs that URI subject alternative names must match, such as spiffe://cluster.local/*.'],
  allowed_other_sans: ['list', [], 'Allowed other SANs as OID;UTF8:value globs; "*" allows any.'],
  server_flag: ['bool', true, 'Adds the ServerAuth extended key usage.'],
  client_flag: ['bool', true, 'Adds the ClientAuth extended key usage.'],
  code_signing_flag: ['bool', false, 'Adds the CodeSigning extended key usage.'],
  email_protection_flag: ['bool', false, 'Adds the EmailProtection extended key usage.'],
  key_type: ['string', 'rsa', 'Key type: rsa, ec, ed25519, or any (sign only).'],
  key_bits: ['int', 0, 'Key size in bits; 0 means 2048 for RSA and 256 for EC.'],
  key_usage: ['list', ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'], 'Key usages, such as DigitalSignature.'],
  ext_key_usage: ['list', [], 'Extra extended key usages, such as ServerAuth.'],
  ext_key_usage_oids: ['list', [], 'Extra extended key usages as OIDs.'],
  use_csr_common_name: ['bool', true, 'On sign, uses the CSR common name when the request sets none.'],
  use_csr_sans: ['bool', true, 'On sign, uses the CSR subject alternative names.'],
  ou: ['list', [], 'OU values of the subject.'],
  organization: ['list', [], 'O values of the subject.'],
  country: ['list', [], 'C values of the subject.'],
  locality: ['list', [], 'L values of the subject.'],
  province: ['list', [], 'ST values of the subject.'],
  street_address: ['list', [], 'Street values of the subject.'],
  postal_code: ['list', [], 'Postal code values of the subject.'],
  generate_lease: ['bool', false, 'Returns a lease with each certificate; revoking the lease revokes it.'],
  no_store: ['bool', false, 'Does not store issued certificates; they cannot be listed or revoked by serial.'],
  require_cn: ['bool', true, 'Requires a common name.'],
  not_before_duration: ['duration', 30, 'How far NotBefore is backdated, to absorb clock skew.'],
  issuer_ref: ['string', 'default', 'Issuer that signs certificates of this role.'],
};

const FIELD_TYPES: Record<RoleFieldKind, FieldSpec['type']> = {
  bool: 'bool',
  list: 'comma-string-list',
  duration: 'duration',
  int: 'int',
  string: 'string',
};

/** The field schema of `roles/NAME`. */
export const roleFieldSpecs: Record<string, FieldSpec> = Object.fromEntries(
  Object.entries(ROLE_FIELDS).map(([name, [kind, , description]]) => [name, { type: FIELD_TYPES[kind], description }]),
);

/** Returns a role with every field at Vault's default. */
export function defaultRole(): Role {
  const role: Record<string, unknown> = {};
  for (const [name, [, value]] of Object.entries(ROLE_FIELDS)) role[name] = Array.isArray(value) ? [...value] : value;
  return role as unknown as Role;
}

/** Merges request fields into a role; fields the request leaves out keep their value. */
function applyRoleFields(role: Role, fields: FieldValues): Role {
  const updated: Record<string, unknown> = { ...role };
  for (const name of Object.keys(ROLE_FIELDS)) {
    if (fields[name] !== undefined) updated[name] = fields[name];
  }
  const result = updated as unknown as Role;
  checkRole(result);
  return result;
}

function checkRole(role: Role): void {
  if (role.key_type !== 'any') normalizeKeyParams(role.key_type, role.key_bits);
  if (role.max_ttl > 0 && role.ttl > role.max_ttl) {
    throw new BadRequestError(`invalid ttl ${role.ttl}s: it is greater than max_ttl ${role.max_ttl}s`);
  }
}

/** Reads a role or throws 400 naming it, as issuance needs an existing role. */
export async function requireRole(store: PkiStore, name: string): Promise<Role> {
  const stored = await store.getRole<Partial<Role>>(name);
  if (!stored) throw new BadRequestError(`unknown role "${name.slice(0, 80)}": create it with roles/${name.slice(0, 80)}`);
  return { ...defaultRole(), ...stored };
}

/** Builds the `roles/NAME` and `roles/` paths. */
export function rolePaths(store: PkiStore): PathSpec[] {
  const read = async (ctx: HandlerContext): Promise<LogicalResponse | null> => {
    const stored = await store.getRole<Partial<Role>>(ctx.params.name!);
    return stored ? { data: { ...defaultRole(), ...stored } } : null;
  };
  const write = async (ctx: HandlerContext): Promise<LogicalResponse | null> => {
    const name = ctx.params.name!;
    const existing = (await store.getRole<Partial<Role>>(name)) ?? {};
    const role = applyRoleFields({ ...defaultRole(), ...existing }, ctx.fields);
    await store.putRole(name, role);
    return { data: { ...role } };
  };
  return [
    {
      pattern: 'roles/?',
      operations: {
        list: async () => {
          const keys = await store.listRoles();
          return { data: { keys } };
        },
      },
      help: 'Lists the roles.',
    },
    {
      pattern: 'roles/(?<name>[A-Za-z0-9_.@-]+)',
      fields: { name: { type: 'string', description: 'Name of the role.' }, ...roleFieldSpecs },
      existenceCheck: async (ctx) => (await store.getRole(ctx.params.name!)) !== null,
      operations: {
        read,
        update: write,
        delete: async (ctx) => {
          await store.deleteRole(ctx.params.name!);
          return null;
        },
      },
      help: 'Creates, reads, updates and deletes a role.',
    },
  ];
}
