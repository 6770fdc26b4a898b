import { type Command, expectArgs } from '../command.js';
import { CliError, EXIT_OK, UsageError } from '../errors.js';

const lookup: Command = {
  path: ['lease', 'lookup'],
  synopsis: 'Look up the lease of a secret',
  usage: 'coffer lease lookup [options] ID',
  description: 'Prints the properties of the lease ID: its issue, expiry and last renewal times, its TTL and whether it can be renewed.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const leaseId = args[0].trim();
    const body = await ctx.call(`looking up lease ${leaseId}`, (client) =>
      client.request('PUT', 'sys/leases/lookup', { body: { lease_id: leaseId } }),
    );
    if (body === null) throw new CliError(`Error looking up lease ${leaseId}: the server returned an empty response`);
    return ctx.printSecret(body);
  },
};

const renew: Command = {
  path: ['lease', 'renew'],
  synopsis: 'Renew the lease of a secret',
  usage: 'coffer lease renew [options] ID',
  description:
    'Extends the lease ID so the secret stays valid longer. The server may grant less than ' +
    'requested, up to the maximum TTL of the lease; the granted duration is printed.',
  flags: [
    {
      name: 'increment',
      kind: 'duration',
      help: 'TTL to request from now, in seconds or a duration such as "1h". Unset requests the default TTL of the lease.',
    },
  ],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const leaseId = args[0].trim();
    const request: Record<string, unknown> = { lease_id: leaseId };
    const increment = ctx.flags.string('increment');
    if (increment !== undefined) request.increment = increment;

    const body = await ctx.call(`renewing lease ${leaseId}`, (client) =>
      client.request('PUT', 'sys/leases/renew', { body: request }),
    );
    if (body === null) throw new CliError(`Error renewing lease ${leaseId}: the server returned an empty response`);
    return ctx.printSecret(body);
  },
};

const revoke: Command = {
  path: ['lease', 'revoke'],
  synopsis: 'Revoke leases and their secrets',
  usage: 'coffer lease revoke [options] ID',
  description:
    'Revokes the lease ID, which makes its secret invalid. With -prefix, ID is a prefix and every ' +
    'lease under it is revoked. Without -sync the server queues the revocation and retries it ' +
    'on failure; with -sync the command waits for it and reports a failure.',
  flags: [
    { name: 'prefix', kind: 'bool', help: 'Treat ID as a prefix and revoke every lease whose ID starts with it.' },
    {
      name: 'force',
      kind: 'bool',
      help:
        'Delete the leases even when their secrets engine fails to revoke the secrets, for secrets ' +
        'already removed by hand. Needs -prefix and a sudo policy, and always runs synchronously.',
    },
    { name: 'f', kind: 'bool', help: 'Short for -force.' },
    { name: 'sync', kind: 'bool', help: 'Wait for the revocation to finish instead of queuing it.' },
  ],
  async run(ctx, args) {
    expectArgs(args, 1, 1);
    const leaseId = args[0].trim();
    const force = ctx.flags.bool('force') || ctx.flags.bool('f');
    const prefix = ctx.flags.bool('prefix');
    const sync = ctx.flags.bool('sync');
    if (force && !prefix) throw new UsageError('-force needs -prefix: give both to force-revoke the leases under a prefix');

    if (force) {
      ctx.warn('WARNING! Force-removing leases can leave secrets valid in their secrets engine while Coffer forgets them.');
      await ctx.call(`force-revoking leases with prefix ${leaseId}`, (client) =>
        client.request('PUT', `sys/leases/revoke-force/${leaseId}`),
      );
      ctx.print(`Success! Force revoked any leases with prefix: ${leaseId}`);
      return EXIT_OK;
    }
    if (prefix) {
      await ctx.call(`revoking leases with prefix ${leaseId}`, (client) =>
        client.request('PUT', `sys/leases/revoke-prefix/${leaseId}`, { body: { sync } }),
      );
      ctx.print(sync ? `Success! Revoked any leases with prefix: ${leaseId}` : 'All revocation operations queued successfully!');
      return EXIT_OK;
    }
    await ctx.call(`revoking lease ${leaseId}`, (client) =>
      client.request('PUT', 'sys/leases/revoke', { body: { lease_id: leaseId, sync } }),
    );
    ctx.print(sync ? `Success! Revoked lease: ${leaseId}` : 'All revocation operations queued successfully!');
    return EXIT_OK;
  },
};

export const leaseCommands: Command[] = [lookup, renew, revoke];
