import mysql from 'mysql2/promise';
import { mysqlAdmin, mysqlAvailable, pgAdmin, postgresAvailable, redisAdmin, redisAvailable, uniqueSuffix } from '../engines/database/helpers.js';
import { requireService } from '../helpers/services.js';

/**
 * Databases, users and keys that a client test creates on the machine's PostgreSQL, MariaDB and
 * Redis, all named with one random suffix so that parallel runs do not collide. `expected` is what
 * a login that reads the test data returns.
 */
export interface DatabaseFixtures {
  /** Prefix of every dynamic username, set through each config's `username_template`. */
  userPrefix: string;
  pg: { database: string; admin: string; password: string; static_user: string; username_template: string; expected: string };
  mysql: {
    database: string;
    admin: string;
    password: string;
    static_user: string;
    static_initial_password: string;
    username_template: string;
    expected: string;
  };
  redis: {
    admin: string;
    password: string;
    static_user: string;
    static_initial_password: string;
    key_prefix: string;
    key: string;
    username_template: string;
    expected: string;
  };
}

/** Returns true when all three services respond, else false with the reason printed (an error in CI). */
export async function databaseServicesAvailable(): Promise<boolean> {
  return (
    requireService('PostgreSQL', await postgresAvailable(), 'nothing accepts logins as postgres on 127.0.0.1:5432') &&
    requireService('MariaDB/MySQL', await mysqlAvailable(), 'nothing accepts logins as root on 127.0.0.1:3306') &&
    requireService('Redis', await redisAvailable(), 'no Redis with ACL support answers on 127.0.0.1:6379')
  );
}

/**
 * Creates the test data and the connecting users. The PostgreSQL admin has CREATEROLE and not
 * SUPERUSER, as in the README; it may grant SELECT on `items` because it has SELECT WITH GRANT OPTION there.
 */
export async function createDatabaseFixtures(): Promise<DatabaseFixtures> {
  const suffix = uniqueSuffix();
  const userPrefix = `c${suffix}-`;
  const usernameTemplate = `{{ printf "${userPrefix}%s-%s" (.RoleName | truncate 8) (random 8) }}`;
  const fixtures: DatabaseFixtures = {
    userPrefix,
    pg: {
      database: `coffer_client_${suffix}`,
      admin: `coffer_client_admin_${suffix}`,
      password: `Pg-Adm1n-${suffix}`,
      static_user: `coffer_client_static_${suffix}`,
      username_template: usernameTemplate,
      expected: '2',
    },
    mysql: {
      database: `coffer_client_${suffix}`,
      admin: `ccadm_${suffix}`,
      password: `My-Adm1n-${suffix}`,
      static_user: `ccst_${suffix}`,
      static_initial_password: 'initial-pw',
      username_template: usernameTemplate,
      expected: '1',
    },
    redis: {
      admin: `coffer-client-admin-${suffix}`,
      password: `Rd-Adm1n-${suffix}`,
      static_user: `coffer-client-static-${suffix}`,
      static_initial_password: 'initial-pw',
      key_prefix: `coffer-client:${suffix}:`,
      key: `coffer-client:${suffix}:greeting`,
      username_template: usernameTemplate,
      expected: 'hello',
    },
  };
  const { pg: p, mysql: m, redis: r } = fixtures;

  await pgAdmin('postgres', [
    `CREATE ROLE ${p.admin} LOGIN CREATEROLE PASSWORD '${p.password}'`,
    `CREATE ROLE ${p.static_user} LOGIN PASSWORD 'initial-pw'`,
    `CREATE DATABASE ${p.database}`,
  ]);
  await pgAdmin(p.database, [
    'CREATE TABLE items (id int)',
    'INSERT INTO items VALUES (1), (2)',
    `GRANT SELECT ON items TO ${p.admin} WITH GRANT OPTION`,
    `GRANT SELECT ON items TO ${p.static_user}`,
  ]);
  await mysqlAdmin([
    `CREATE DATABASE ${m.database}`,
    `CREATE TABLE ${m.database}.items (id int)`,
    `INSERT INTO ${m.database}.items VALUES (1)`,
    [`CREATE USER ?@'%' IDENTIFIED BY ?`, [m.admin, m.password]],
    [`GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION`, [m.admin]],
    [`CREATE USER ?@'%' IDENTIFIED BY ?`, [m.static_user, m.static_initial_password]],
    [`GRANT SELECT ON ${m.database}.* TO ?@'%'`, [m.static_user]],
  ]);
  await redisAdmin('ACL', 'SETUSER', r.admin, 'on', `>${r.password}`, '~*', '&*', '+@all');
  await redisAdmin('ACL', 'SETUSER', r.static_user, 'on', `>${r.static_initial_password}`, `~${r.key_prefix}*`, '+get');
  await redisAdmin('SET', r.key, 'hello');
  return fixtures;
}

/** Drops every database, role, user and key of the fixtures, including users a failed revocation left. */
export async function removeDatabaseFixtures(fixtures: DatabaseFixtures): Promise<void> {
  const { userPrefix, pg: p, mysql: m, redis: r } = fixtures;
  await pgAdmin('postgres', [
    `DROP DATABASE IF EXISTS ${p.database} WITH (FORCE)`,
    `DO $$ DECLARE r record; BEGIN FOR r IN SELECT rolname FROM pg_roles WHERE starts_with(rolname, '${userPrefix}') LOOP EXECUTE format('DROP ROLE %I', r.rolname); END LOOP; END $$`,
    `DROP ROLE IF EXISTS ${p.admin}`,
    `DROP ROLE IF EXISTS ${p.static_user}`,
  ]);

  const connection = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT User, Host FROM mysql.user WHERE User LIKE ?', [`${userPrefix}%`]);
    for (const row of rows) await connection.query('DROP USER IF EXISTS ?@?', [row.User, row.Host]);
    await connection.query(`DROP DATABASE IF EXISTS ${m.database}`);
    await connection.query(`DROP USER IF EXISTS ?@'%'`, [m.admin]);
    await connection.query(`DROP USER IF EXISTS ?@'%'`, [m.static_user]);
  } finally {
    await connection.end();
  }

  const users = (await redisAdmin('ACL', 'USERS')) as string[];
  for (const user of users.filter((name) => name.startsWith(userPrefix) || name === r.admin || name === r.static_user)) {
    await redisAdmin('ACL', 'DELUSER', user);
  }
  await redisAdmin('DEL', r.key);
}
