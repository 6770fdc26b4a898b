/**
 * Built-in policies. `root` has no text: it allows everything and cannot be stored. `default` is
 * written to storage on first use and can then be changed by an operator; Coffer never
 * overwrites a stored version. `response-wrapping` is fixed and is given only to wrapping tokens.
 */

export const ROOT_POLICY_NAME = 'root';
export const DEFAULT_POLICY_NAME = 'default';
export const RESPONSE_WRAPPING_POLICY_NAME = 'response-wrapping';

/** Names that `sys/policy` and `sys/policies/acl` reject for writes. */
export const IMMUTABLE_POLICY_NAMES = new Set([ROOT_POLICY_NAME, RESPONSE_WRAPPING_POLICY_NAME]);

export const DEFAULT_POLICY_TEXT = `# The default policy, attached to tokens unless they are created without it.
# It lets a token manage itself and use its own cubbyhole. Edit it as needed:
# Coffer writes this text only when no default policy is stored.

# Look up, renew and revoke the calling token.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# Report the calling token's capabilities on paths.
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# Show the resultant ACL of the calling token in a UI.
path "sys/internal/ui/resultant-acl" {
  capabilities = ["read"]
}

# Look up a lease's expiry by its lease ID.
path "sys/leases/lookup" {
  capabilities = ["update"]
}

# Private storage that lives and dies with the token.
path "cubbyhole/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Wrap data in a single-use token, and look up or unwrap such tokens.
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}

path "sys/wrapping/lookup" {
  capabilities = ["update"]
}

path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}

# Hash data with the hash tool.
path "sys/tools/hash" {
  capabilities = ["update"]
}

path "sys/tools/hash/*" {
  capabilities = ["update"]
}
`;

/** Lets a wrapping token read its wrapped response and unwrap it, and nothing else. */
export const RESPONSE_WRAPPING_POLICY_TEXT = `path "cubbyhole/response" {
  capabilities = ["create", "read"]
}

path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}
`;
