import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { requireService } from '../helpers/services.js';
import { PG, pgAdmin, postgresAvailable, uniqueSuffix } from '../engines/database/helpers.js';
import { type CliResult, type DevServer, type RunOptions, makeTempDir, runCli, startDevServer } from './helpers.js';

const available = await postgresAvailable();
const run = requireService('PostgreSQL', available, 'nothing accepts logins as postgres on 127.0.0.1:5432');

/** Parses the `Key  Value` table that `coffer read` prints into a map. */
function parseTable(stdout: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of stdout.split('\n').slice(2)) {
    const match = /^(\S+)\s+(.*)$/.exec(line);
    if (match) rows.set(match[1], match[2]);
  }
  return rows;
}

/** Returns the password hash PostgreSQL stores for a role, to see whether it changed. */
async function passwordHash(role: string): Promise<string | null> {
  const client = new pg.Client(PG);
  await client.connect();
  try {
    const result = await client.query<{ rolpassword: string | null }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
    return result.rows[0]?.rolpassword ?? null;
  } finally {
    await client.end();
  }
}

async function roleExists(role: string): Promise<boolean> {
  const client = new pg.Client(PG);
  await client.connect();
  try {
    return ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount ?? 0) > 0;
  } finally {
    await client.end();
  }
}

/**
 * The README's PostgreSQL example, command for command: a connecting role with only CREATEROLE
 * (not a superuser), a `readonly` role, credentials read, revoked and the root password rotated.
 */
describe('coffer database commands', { skip: !run }, () => {
  const suffix = uniqueSuffix();
  const database = `coffer_cli_${suffix}`;
  const admin = `coffer_cli_admin_${suffix}`;
  /** Every dynamic username handed out, dropped in `after` in case a revocation failed. */
  const issuedUsers = new Set<string>();
  let server: DevServer;
  let home: string;

  const cli = (argv: string[], options: RunOptions = {}): Promise<CliResult> =>
    runCli(argv, { homeDir: home, ...options, env: { COFFER_ADDR: server.address, COFFER_TOKEN: server.rootToken, ...options.env } });

  const ok = async (argv: string[]): Promise<CliResult> => {
    const result = await cli(argv);
    assert.equal(result.code, 0, `coffer ${argv.join(' ')} failed: ${result.stderr}`);
    return result;
  };

  const readCreds = async (role: string): Promise<Map<string, string>> => {
    const creds = parseTable((await ok(['read', `database/creds/${role}`])).stdout);
    if (creds.has('username')) issuedUsers.add(creds.get('username')!);
    return creds;
  };

  before(async () => {
    await pgAdmin('postgres', [`CREATE ROLE ${admin} LOGIN CREATEROLE PASSWORD 'change-me'`, `CREATE DATABASE ${database}`]);
    // The connecting role may grant SELECT on a table only when it has SELECT WITH GRANT OPTION.
    await pgAdmin(database, ['CREATE TABLE items (id int)', 'INSERT INTO items VALUES (1), (2)', `GRANT SELECT ON items TO ${admin} WITH GRANT OPTION`]);
    server = await startDevServer();
    home = makeTempDir();
  });

  after(async () => {
    await server?.stop();
    const leftovers = [...issuedUsers].map((user) => `DROP ROLE IF EXISTS ${pg.escapeIdentifier(user)}`);
    await pgAdmin('postgres', [`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`, ...leftovers, `DROP ROLE IF EXISTS ${admin}`]);
  });

  it('enables, configures and writes a role', async () => {
    const enabled = await ok(['secrets', 'enable', 'database']);
    assert.match(enabled.stdout, /Success! Enabled the database secrets engine at: database\//);

    const config = await ok([
      'write',
      'database/config/app',
      'plugin_name=postgresql-database-plugin',
      `connection_url=postgresql://{{username}}:{{password}}@127.0.0.1:5432/${database}`,
      `username=${admin}`,
      'password=change-me',
      'allowed_roles=readonly,broken',
    ]);
    assert.match(config.stdout, /Success! Data written to: database\/config\/app/);

    const role = await ok([
      'write',
      'database/roles/readonly',
      'db_name=app',
      'default_ttl=1h',
      'max_ttl=24h',
      `creation_statements=CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
    ]);
    assert.match(role.stdout, /Success! Data written to: database\/roles\/readonly/);

    const shown = await ok(['read', '-format=json', 'database/config/app']);
    assert.equal(shown.stdout.includes('change-me'), false);
    assert.equal(JSON.parse(shown.stdout).data.plugin_name, 'postgresql-database-plugin');
  });

  it('read creds prints a leased login', async () => {
    const creds = await readCreds('readonly');
    assert.deepEqual([...creds.keys()], ['lease_id', 'lease_duration', 'lease_renewable', 'password', 'username']);
    assert.match(creds.get('lease_id')!, /^database\/creds\/readonly\/\S+$/);
    assert.equal(creds.get('lease_duration'), '1h');
    assert.equal(creds.get('lease_renewable'), 'true');
    assert.match(creds.get('username')!, /^v-root-readonly-[A-Za-z0-9]{20}-\d+$/);
    assert.equal(creds.get('password')!.length, 20);

    const session = new pg.Client({ host: PG.host, port: PG.port, user: creds.get('username'), password: creds.get('password'), database });
    await session.connect();
    session.on('error', () => undefined);
    try {
      assert.equal((await session.query('SELECT count(*)::int AS n FROM items')).rows[0].n, 2);

      // Revoking the lease through sys/leases/revoke ends the open session and drops the role,
      // although the connecting role is not a superuser.
      const revoked = await ok(['write', 'sys/leases/revoke', `lease_id=${creds.get('lease_id')}`]);
      assert.match(revoked.stdout, /Success! Data written to: sys\/leases\/revoke/);
      await assert.rejects(session.query('SELECT 1'));
    } finally {
      await session.end().catch(() => undefined);
    }
    assert.equal(await roleExists(creds.get('username')!), false);
    const lookup = await cli(['lease', 'lookup', creds.get('lease_id')!]);
    assert.notEqual(lookup.code, 0);
  });

  it('write -f rotates the root password', async () => {
    const rejected = await cli(['write', 'database/rotate-root/app']);
    assert.equal(rejected.code, 2);
    assert.match(rejected.stderr, /Must supply data or use -force/);

    const hashBefore = await passwordHash(admin);
    const rotated = await ok(['write', '-f', 'database/rotate-root/app']);
    assert.match(rotated.stdout, /Success! Data written to: database\/rotate-root\/app/);
    assert.notEqual(await passwordHash(admin), hashBefore);

    // The engine keeps working with the password only it stores.
    const creds = await readCreds('readonly');
    assert.equal(await roleExists(creds.get('username')!), true);
    await ok(['lease', 'revoke', '-sync', creds.get('lease_id')!]);
    assert.equal(await roleExists(creds.get('username')!), false);
  });

  it('bad creation statement fails without a lease', async () => {
    await ok(['write', 'database/roles/broken', 'db_name=app', `creation_statements=CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}'; GRANT SELECT ON items TOO "{{name}}";`]);
    const failed = await cli(['read', 'database/creds/broken']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /syntax error/);
    assert.match(failed.stderr, /\(400\)/);
    const leases = await cli(['list', 'sys/leases/lookup/database/creds/broken/']);
    assert.equal(leases.code, 2, leases.stdout);
    await pgAdmin(database, [`DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname LIKE 'v-root-broken-%') THEN RAISE 'a role was left behind'; END IF; END $$`]);
  });

  it('creds of an unknown role fail', async () => {
    const failed = await cli(['read', 'database/creds/nosuchrole']);
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /nosuchrole/);
  });
});
