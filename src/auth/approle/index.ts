import type { Backend, BackendContext, BackendFactory, LogicalResponse, PathSpec } from '../../framework/types.js';
import { loginPath, renewAppRoleAuth } from './login.js';
import { rolePaths } from './role-paths.js';
import { secretIdPaths } from './secret-id-paths.js';
import { AppRoleStore } from './store.js';

/**
 * The AppRole auth method: machines log in with a role ID and a secret ID. Roles carry the shared
 * token settings and the secret ID rules (uses, TTL, CIDR binding). Secret IDs are stored only as
 * HMACs under a per-mount salt.
 */
export class AppRoleBackend implements Backend {
  readonly store: AppRoleStore;
  readonly paths: PathSpec[];
  readonly unauthenticatedPaths = ['login', 'login/*'];
  private runningTidy: Promise<number> | null = null;

  constructor(private readonly context: BackendContext) {
    this.store = new AppRoleStore(context.storage);
    this.paths = [
      loginPath(this.store),
      ...rolePaths(this.store),
      ...secretIdPaths(this.store),
      {
        pattern: 'tidy/secret-id',
        operations: { update: async () => this.startTidy() },
        help: 'Starts removing expired secret IDs and dangling accessors in the background.',
      },
    ];
  }

  renewAuth(ctx: Parameters<NonNullable<Backend['renewAuth']>>[0]) {
    return renewAppRoleAuth(this.store, ctx);
  }

  /** Resolves when the running tidy, if any, has finished, with the number of entries removed. */
  tidyDone(): Promise<number> {
    return this.runningTidy ?? Promise.resolve(0);
  }

  /** Starts a tidy in the background and returns 202 at once, as Vault does. */
  private startTidy(): LogicalResponse {
    if (this.runningTidy !== null) {
      return { status: 202, warnings: ['a tidy operation is already running; this request started nothing'] };
    }
    this.runningTidy = this.store
      .tidy()
      .then((deleted) => {
        this.context.logger.info({ mount: this.context.mountPoint, deleted }, 'approle secret ID tidy finished');
        return deleted;
      })
      .catch((err: unknown) => {
        this.context.logger.error({ mount: this.context.mountPoint, err }, 'approle secret ID tidy failed');
        return 0;
      })
      .finally(() => (this.runningTidy = null));
    return { status: 202, warnings: ['tidy operation started; its result is written to the server log'] };
  }
}

/** Creates the AppRole auth method for one mount. */
export const approleBackend: BackendFactory = (ctx) => new AppRoleBackend(ctx);
