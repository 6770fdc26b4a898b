import { BadRequestError } from '../../errors.js';
import type { HandlerContext, LogicalResponse, PathSpec } from '../../framework/types.js';
import { getJson, putJson, type Storage } from '../../storage/storage.js';
import { generatePassword, parsePasswordPolicy, type PasswordPolicy } from './policy.js';

/** Barrier prefix of the stored password policies; pass a view of it to the functions below. */
export const PASSWORD_POLICY_STORAGE_PREFIX = 'sys/password-policy/';

/** One stored password policy: the text as written, so a read returns it unchanged. */
interface StoredPasswordPolicy {
  policy: string;
}

const NAME_PATTERN = '(?<name>[^/]+)';
const MAX_NAME_LENGTH = 128;

/**
 * Builds the `sys/policies/password` paths: list, read, write and delete a policy, and
 * `NAME/generate` to draw a password from it. `storage` is a view under
 * `PASSWORD_POLICY_STORAGE_PREFIX`; each policy is stored under its name.
 */
export function passwordPolicyPaths(storage: Storage): PathSpec[] {
  return [
    {
      pattern: 'policies/password/?',
      operations: {
        list: async () => ({ data: { keys: await storage.list('') } }),
      },
      help: 'Lists the names of the password policies.',
    },
    {
      pattern: `policies/password/${NAME_PATTERN}/generate`,
      operations: {
        read: async (ctx) => ({ data: { password: await generatePasswordFromPolicy(storage, nameOf(ctx)) } }),
      },
      help: 'Generates a password from the named password policy.',
    },
    {
      pattern: `policies/password/${NAME_PATTERN}`,
      fields: {
        policy: { type: 'string', description: 'The policy in HCL or JSON, optionally base64-encoded.' },
      },
      existenceCheck: async (ctx) => (await storage.get(nameOf(ctx))) !== null,
      operations: {
        read: (ctx) => readPolicy(storage, ctx),
        update: (ctx) => writePolicy(storage, ctx),
        delete: async (ctx) => {
          await storage.delete(nameOf(ctx));
          return null;
        },
      },
      help: 'Reads, writes or deletes a password policy: a length and rule "charset" blocks with min-chars.',
    },
  ];
}

/** Reads and parses a stored policy; returns null when no policy has the name. */
export async function readPasswordPolicy(storage: Storage, name: string): Promise<PasswordPolicy | null> {
  const stored = await getJson<StoredPasswordPolicy>(storage, name);
  return stored === null ? null : parsePasswordPolicy(stored.policy);
}

/** Generates a password from the named stored policy; throws a 400 when no policy has the name. */
export async function generatePasswordFromPolicy(storage: Storage, name: string): Promise<string> {
  checkName(name);
  const policy = await readPasswordPolicy(storage, name);
  if (policy === null) throw new BadRequestError(`password policy ${JSON.stringify(name)} not found; create it at sys/policies/password/${name}`);
  return generatePassword(policy);
}

async function readPolicy(storage: Storage, ctx: HandlerContext): Promise<LogicalResponse | null> {
  const stored = await getJson<StoredPasswordPolicy>(storage, nameOf(ctx));
  if (stored === null) return null;
  return { data: { policy: stored.policy } };
}

async function writePolicy(storage: Storage, ctx: HandlerContext): Promise<null> {
  const name = nameOf(ctx);
  const text = ctx.fields.policy;
  if (typeof text !== 'string' || text.trim() === '') throw new BadRequestError('missing required field "policy"');

  // Parsing checks that the rules can be met, and one generated password proves it.
  const policy = await parsePasswordPolicy(text);
  generatePassword(policy);
  await putJson(storage, name, { policy: text } satisfies StoredPasswordPolicy);
  return null;
}

function nameOf(ctx: HandlerContext): string {
  const name = ctx.params.name ?? '';
  checkName(name);
  return name;
}

function checkName(name: string): void {
  if (name === '' || name.length > MAX_NAME_LENGTH || name.includes('/')) {
    throw new BadRequestError(`invalid password policy name ${JSON.stringify(name.slice(0, MAX_NAME_LENGTH))}: use 1 to ${MAX_NAME_LENGTH} characters without "/"`);
  }
}
