import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parsePolicy } from '../../core/policy/parse.js';
import type { PathRule, Policy } from '../../core/policy/types.js';
import { type Command, expectArgs } from '../command.js';
import { CliError, EXIT_OK, EXIT_USAGE } from '../errors.js';
import { formatJson } from '../format.js';
import { readAll } from '../prompt.js';

/** API path of an ACL policy. */
function policyPath(name: string): string {
  return `sys/policies/acl/${encodeURIComponent(name.toLowerCase())}`;
}

/**
 * Formats a parsed policy as canonical HCL: one `path` block per rule in source order, with the
 * attributes in a fixed order and only those that differ from the defaults. Legacy
 * `policy = "..."` values come out as the capabilities they stand for.
 */
export function formatPolicyHcl(policy: Policy): string {
  return `${policy.paths.map(formatPathRule).join('\n\n')}\n`;
}

function formatPathRule(rule: PathRule): string {
  const lines = [`path ${JSON.stringify(rule.path)} {`, `  capabilities = ${formatList(rule.capabilities)}`];
  if (rule.requiredParameters.length > 0) {
    lines.push(`  required_parameters = ${formatList(rule.requiredParameters)}`);
  }
  for (const [attribute, parameters] of [
    ['allowed_parameters', rule.allowedParameters],
    ['denied_parameters', rule.deniedParameters],
  ] as const) {
    if (parameters.size === 0) continue;
    lines.push(`  ${attribute} = {`);
    for (const [name, values] of parameters) lines.push(`    ${JSON.stringify(name)} = ${formatList(values)}`);
    lines.push('  }');
  }
  if (rule.minWrappingTtl > 0) lines.push(`  min_wrapping_ttl = "${rule.minWrappingTtl}s"`);
  if (rule.maxWrappingTtl > 0) lines.push(`  max_wrapping_ttl = "${rule.maxWrappingTtl}s"`);
  lines.push('}');
  return lines.join('\n');
}

/** Formats a list as an HCL tuple; JSON literals are valid HCL expressions. */
function formatList(values: readonly unknown[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(', ')}]`;
}

const write: Command = {
  path: ['policy', 'write'],
  synopsis: 'Upload a policy',
  usage: 'coffer policy write [options] NAME PATH',
  description: 'Creates or replaces the ACL policy NAME with the HCL or JSON in the file PATH, or from stdin when PATH is "-".',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 2, 2);
    const [name, source] = args;
    const text = source === '-' ? await readAll(ctx.io.stdin) : await ctx.readTextFile(source);
    await ctx.call(`uploading policy ${name}`, (client) => client.write(policyPath(name), { policy: text }));
    ctx.print(`Success! Uploaded policy: ${name}`);
    return EXIT_OK;
  },
};

const read: Command = {
  path: ['policy', 'read'],
  synopsis: 'Print the contents of a policy',
  usage: 'coffer policy read [options] NAME',
  description: 'Prints the text of the ACL policy NAME as it was uploaded. Exits with 2 when there is no such policy.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const name = args[0];
    const body = await ctx.call(`reading policy ${name}`, (client) => client.read(policyPath(name)));
    if (body === null) {
      ctx.warn(`No policy named: ${name}`);
      return EXIT_USAGE;
    }
    if (ctx.output.field !== undefined || ctx.output.format === 'json') return ctx.printSecret(body);
    ctx.print(String(body.data?.policy ?? body.data?.rules ?? ''));
    return EXIT_OK;
  },
};

const list: Command = {
  path: ['policy', 'list'],
  synopsis: 'List the installed policies',
  usage: 'coffer policy list [options]',
  description: 'Prints the names of the ACL policies, one per line.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 0, 0);
    const body = await ctx.call('listing policies', (client) => client.list('sys/policies/acl'));
    const keys = Array.isArray(body?.data?.keys) ? (body?.data?.keys as unknown[]).map(String) : [];
    if (ctx.output.format === 'json') ctx.print(formatJson(keys));
    else if (keys.length > 0) ctx.print(keys.join('\n'));
    return EXIT_OK;
  },
};

const remove: Command = {
  path: ['policy', 'delete'],
  synopsis: 'Delete a policy by name',
  usage: 'coffer policy delete [options] NAME',
  description: 'Deletes the ACL policy NAME. Tokens that carry it lose its grants at once.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const name = args[0];
    await ctx.call(`deleting policy ${name}`, (client) => client.delete(policyPath(name)));
    ctx.print(`Success! Deleted policy: ${name}`);
    return EXIT_OK;
  },
};

const fmt: Command = {
  path: ['policy', 'fmt'],
  synopsis: 'Format a policy file',
  usage: 'coffer policy fmt [options] PATH',
  description:
    'Parses the policy in the file PATH and rewrites the file in canonical HCL. The file is left ' +
    'unchanged when the policy does not parse. Runs locally; no server is needed.',
  flags: [],
  usesApi: false,
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const file = args[0];
    const text = await ctx.readTextFile(file);
    let policy: Policy;
    try {
      policy = await parsePolicy(basename(file).replace(/\.(hcl|json)$/, ''), text);
    } catch (err) {
      throw new CliError(`Error parsing policy ${file}: ${(err as Error).message}`);
    }
    try {
      await writeFile(file, formatPolicyHcl(policy));
    } catch (err) {
      throw new CliError(`Error writing formatted policy to ${file}: ${(err as Error).message}`);
    }
    ctx.print(`Success! Formatted policy: ${file}`);
    return EXIT_OK;
  },
};

export const policyCommands: Command[] = [write, read, list, remove, fmt];
