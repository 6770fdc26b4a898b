import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandStatements, readStatementList, renderStatement, splitSql } from '../../../src/engines/database/statements.js';
import { maskConnectionUrl } from '../../../src/engines/database/config-paths.js';
import { scrubSecrets } from '../../../src/engines/database/plugin.js';

test('statements split on semicolons outside quotes', () => {
  assert.deepEqual(splitSql(`CREATE ROLE "a;b" PASSWORD 'x;y'; GRANT SELECT ON t TO "a;b";`), [
    `CREATE ROLE "a;b" PASSWORD 'x;y'`,
    'GRANT SELECT ON t TO "a;b"',
  ]);
  assert.deepEqual(splitSql(`DO $$ BEGIN PERFORM 1; PERFORM 2; END $$; SELECT 1`), ['DO $$ BEGIN PERFORM 1; PERFORM 2; END $$', 'SELECT 1']);
  assert.deepEqual(splitSql(`SELECT 1; -- a; comment\nSELECT 'it''s; fine'`), ['SELECT 1', `-- a; comment\nSELECT 'it''s; fine'`]);
});

test('statements accept base64 and JSON arrays', () => {
  const encoded = Buffer.from('SELECT 1; SELECT 2').toString('base64');
  assert.deepEqual(expandStatements([encoded]), ['SELECT 1', 'SELECT 2']);
  assert.deepEqual(expandStatements(['["SELECT 1", "SELECT 2; SELECT 3"]']), ['SELECT 1', 'SELECT 2', 'SELECT 3']);
  assert.deepEqual(readStatementList('s', 'SELECT 1'), ['SELECT 1']);
  assert.deepEqual(readStatementList('s', ['a', ' ', 'b']), ['a', 'b']);
  assert.throws(() => readStatementList('s', [1]), /invalid value for "s"/);
});

test('statement placeholders are replaced', () => {
  const rendered = renderStatement(`CREATE ROLE "{{name}}" PASSWORD '{{ password }}' VALID UNTIL '{{expiration}}' {{other}}`, {
    name: 'v-user',
    password: 'pw',
    expiration: '2030-01-01 00:00:00+0000',
  });
  assert.equal(rendered, `CREATE ROLE "v-user" PASSWORD 'pw' VALID UNTIL '2030-01-01 00:00:00+0000' {{other}}`);
});

test('connection url password is masked', () => {
  assert.equal(maskConnectionUrl('postgresql://admin:hunter2@db:5432/app'), 'postgresql://admin:*****@db:5432/app');
  assert.equal(maskConnectionUrl('postgresql://{{username}}:{{password}}@db/app'), 'postgresql://{{username}}:{{password}}@db/app');
  assert.equal(maskConnectionUrl('root:hunter2@tcp(127.0.0.1:3306)/'), 'root:*****@tcp(127.0.0.1:3306)/');
  assert.equal(maskConnectionUrl('host=db user=admin password=hunter2 dbname=app'), 'host=db user=admin password=***** dbname=app');
  assert.equal(maskConnectionUrl("host=db password='{{password}}'"), "host=db password='{{password}}'");
});

test('secrets are scrubbed from messages', () => {
  const message = `syntax error in ALTER ROLE x PASSWORD 'p@ss;w' and p%40ss%3Bw`;
  assert.equal(scrubSecrets(message, ['p@ss;w', undefined]), 'syntax error in ALTER ROLE x PASSWORD \'[redacted]\' and [redacted]');
});
