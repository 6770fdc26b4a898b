import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { spawnServer } from '../helpers/server.js';
import { hvacAvailable, requireService } from '../helpers/services.js';
import { createDatabaseFixtures, databaseServicesAvailable, removeDatabaseFixtures } from './database-fixtures.js';

/** True when each command-line client the Python flow logs in with is on PATH. */
function commandLineClientsAvailable(): boolean {
  return ['psql', 'mysql', 'redis-cli'].every((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0);
}

const services = await databaseServicesAvailable();
const tools =
  requireService('hvac', hvacAvailable(), 'python3-hvac is not installed (apt-get install python3-hvac)') &&
  requireService('database clients', commandLineClientsAvailable(), 'psql, mysql or redis-cli is missing (postgresql-client, mariadb-client, redis-tools)');

test('hvac: database engine on PostgreSQL, MariaDB and Redis', { skip: !(services && tools) }, async () => {
  const fixtures = await createDatabaseFixtures();
  const port = 0; // the server picks a free port and prints it
  try {
    const server = await spawnServer(['server', '-dev', '-dev-root-token-id=root', `-dev-listen-address=127.0.0.1:${port}`]);
    try {
      const spec = JSON.stringify({ pg: fixtures.pg, mysql: fixtures.mysql, redis: fixtures.redis });
      const result = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'hvac_database.py'), server.url, 'root', spec], {
        encoding: 'utf8',
        timeout: 180_000,
      });
      assert.equal(result.status, 0, `hvac database flow failed:\n${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /ok/);
    } finally {
      await server.stop();
    }
  } finally {
    await removeDatabaseFixtures(fixtures);
  }
});
