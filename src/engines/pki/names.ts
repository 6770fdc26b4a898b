import { isIP } from 'node:net';
import { BadRequestError } from '../../errors.js';
import type { AltNames } from './certs.js';
import type { Role } from './roles.js';

/** A hostname label: letters, digits and inner hyphens, at most 63 characters. */
const HOSTNAME_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** The names a request contains, before the role's checks. */
export interface RequestedNames {
  commonName: string;
  /** DNS names and email addresses from `alt_names`. */
  altNames: string[];
  ipSans: string[];
  uriSans: string[];
  otherSans: string[];
  excludeCnFromSans: boolean;
}

/**
 * Checks every requested name against the role and returns the subject alternative names to
 * write. Throws 400 naming the first rejected name and the rule that rejected it.
 */
export function checkNames(roleName: string, role: Role, requested: RequestedNames): AltNames {
  const names: AltNames = { dns: [], emails: [], ips: [], uris: [], otherSans: [] };
  const cn = requested.commonName;

  if (cn === '' && role.require_cn) {
    throw new BadRequestError(`missing common_name: role "${roleName}" sets require_cn=true`);
  }
  if (cn !== '') {
    if (isIP(cn) !== 0) {
      checkIp(roleName, role, cn, 'common name');
      if (!requested.excludeCnFromSans) names.ips.push(cn);
    } else {
      checkHostOrEmail(roleName, role, cn, 'common name');
      if (!requested.excludeCnFromSans) (cn.includes('@') ? names.emails : names.dns).push(cn);
    }
  }

  for (const name of requested.altNames) {
    if (name === '') continue;
    checkHostOrEmail(roleName, role, name, 'subject alternative name');
    (name.includes('@') ? names.emails : names.dns).push(name);
  }
  for (const ip of requested.ipSans) {
    if (ip === '') continue;
    if (isIP(ip) === 0) throw new BadRequestError(`invalid IP SAN "${ip.slice(0, 80)}": use an IPv4 or IPv6 address`);
    checkIp(roleName, role, ip, 'IP SAN');
    names.ips.push(ip);
  }
  for (const uri of requested.uriSans) {
    if (uri === '') continue;
    checkUri(roleName, role, uri);
    names.uris.push(uri);
  }
  for (const other of requested.otherSans) {
    if (other === '') continue;
    checkOtherSan(roleName, role, other);
    names.otherSans.push(other);
  }

  return { dns: unique(names.dns), emails: unique(names.emails), ips: unique(names.ips), uris: unique(names.uris), otherSans: unique(names.otherSans) };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function checkIp(roleName: string, role: Role, ip: string, label: string): void {
  if (!role.allow_ip_sans) {
    throw new BadRequestError(`${label} "${ip}" is not allowed by role "${roleName}": the role sets allow_ip_sans=false`);
  }
}

function checkUri(roleName: string, role: Role, uri: string): void {
  if (role.allowed_uri_sans.length === 0) {
    throw new BadRequestError(`URI SAN "${uri.slice(0, 200)}" is not allowed by role "${roleName}": the role has no allowed_uri_sans`);
  }
  if (!role.allowed_uri_sans.some((pattern) => globMatch(pattern, uri))) {
    throw new BadRequestError(`URI SAN "${uri.slice(0, 200)}" is not allowed by role "${roleName}": it matches none of allowed_uri_sans ${JSON.stringify(role.allowed_uri_sans)}`);
  }
}

function checkOtherSan(roleName: string, role: Role, other: string): void {
  const allowed = role.allowed_other_sans;
  if (allowed.includes('*')) return;
  if (!allowed.some((pattern) => globMatch(pattern, other))) {
    throw new BadRequestError(`other SAN "${other.slice(0, 200)}" is not allowed by role "${roleName}": it matches none of allowed_other_sans ${JSON.stringify(allowed)}`);
  }
}

/** Applies Vault's hostname rules to a DNS name, or to the domain part of an email address. */
function checkHostOrEmail(roleName: string, role: Role, name: string, label: string): void {
  const subject = `${label} "${name.slice(0, 200)}"`;
  const reject = (rule: string) => new BadRequestError(`${subject} is not allowed by role "${roleName}": ${rule}`);

  const at = name.lastIndexOf('@');
  const isEmail = at !== -1;
  let host = isEmail ? name.slice(at + 1) : name;
  const isWildcard = host.startsWith('*.');
  if (isWildcard) {
    if (!role.allow_wildcard_certificates) throw reject('the role sets allow_wildcard_certificates=false');
    host = host.slice(2);
  }

  if (role.enforce_hostnames && !isValidHostname(host)) {
    throw reject('it is not a valid hostname and the role sets enforce_hostnames=true');
  }
  if (role.allow_any_name) return;
  if (role.allow_localhost && (host === 'localhost' || host === 'localdomain') && !isWildcard) return;

  const lowered = host.toLowerCase();
  for (const domain of role.allowed_domains.map((entry) => entry.toLowerCase())) {
    if (role.allow_bare_domains && lowered === domain && !isWildcard) return;
    if (role.allow_subdomains && (lowered.endsWith(`.${domain}`) || (isWildcard && lowered === domain))) return;
    if (role.allow_glob_domains && domain.includes('*') && globMatch(domain, isWildcard ? `*.${lowered}` : lowered)) return;
  }

  if (role.allowed_domains.length === 0) {
    throw reject('the role has no allowed_domains and sets allow_any_name=false');
  }
  const flags = `allow_bare_domains=${role.allow_bare_domains}, allow_subdomains=${role.allow_subdomains}, allow_glob_domains=${role.allow_glob_domains}`;
  throw reject(`it is not permitted by allowed_domains ${JSON.stringify(role.allowed_domains)} with ${flags}`);
}

/** Checks hostname syntax: dot-separated labels of letters, digits and inner hyphens. */
function isValidHostname(host: string): boolean {
  const trimmed = host.endsWith('.') ? host.slice(0, -1) : host;
  if (trimmed === '' || trimmed.length > 253) return false;
  return trimmed.split('.').every((label) => HOSTNAME_LABEL.test(label));
}

/** Matches a glob where `*` stands for any run of characters, case-sensitively as Vault does. */
export function globMatch(pattern: string, value: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}
