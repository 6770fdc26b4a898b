import { type Command, expectArgs } from '../command.js';
import { EXIT_USAGE, UsageError } from '../errors.js';

const unwrap: Command = {
  path: ['unwrap'],
  synopsis: 'Unwrap a wrapped secret',
  usage: 'coffer unwrap [options] [TOKEN]',
  description:
    'Prints the response wrapped in the wrapping token TOKEN, or in the current token when TOKEN ' +
    'is omitted (set COFFER_TOKEN to the wrapping token). A wrapping token works once: the unwrap ' +
    'revokes it, so a second unwrap fails.',
  flags: [],
  async run(ctx, args) {
    expectArgs(args, 0, 1);
    const client = await ctx.client();
    const clientToken = client.config.token ?? '';
    const wrappingToken = (args[0] ?? '').trim();
    if (args.length === 1 && wrappingToken === '') throw new UsageError('The wrapping token is empty: pass the token from wrap_info');
    if (wrappingToken === '' && clientToken === '') {
      throw new UsageError('No wrapping token: pass it as an argument or set COFFER_TOKEN to it');
    }

    const body = await ctx.call('unwrapping token', (api) => {
      // A caller with a token of its own sends the wrapping token in the body. A caller without one
      // authenticates with the wrapping token itself, which unwrap accepts as well.
      if (wrappingToken !== '' && clientToken !== '' && wrappingToken !== clientToken) {
        return api.request('PUT', 'sys/wrapping/unwrap', { body: { token: wrappingToken } });
      }
      return api.request('PUT', 'sys/wrapping/unwrap', { token: wrappingToken || clientToken });
    });
    if (body === null) {
      ctx.warn('Could not find wrapped response');
      return EXIT_USAGE;
    }
    return ctx.printSecret(body);
  },
};

export const unwrapCommands: Command[] = [unwrap];
