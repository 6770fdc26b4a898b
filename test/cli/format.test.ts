import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../../src/cli/errors.js';
import {
  authRows,
  formatColumns,
  formatFieldValue,
  formatHumanDuration,
  formatKeyValueTable,
  formatSecretTable,
  formatSection,
  formatValue,
  selectField,
} from '../../src/cli/format.js';

describe('formatColumns', () => {
  it('aligns columns with a dashed separator', () => {
    const text = formatColumns(['Key', 'Value'], [['refresh_interval', '768h'], ['a', 'b']]);
    assert.equal(
      text,
      ['Key                 Value', '---                 -----', 'refresh_interval    768h', 'a                   b'].join('\n'),
    );
  });

  it('formats a single column', () => {
    assert.equal(formatColumns(['Keys'], [['foo'], ['bar/']]), 'Keys\n----\nfoo\nbar/');
  });
});

describe('formatValue', () => {
  const cases: Array<[unknown, string]> = [
    ['text', 'text'],
    [3, '3'],
    [false, 'false'],
    [null, '<nil>'],
    [['a', 'b'], '[a b]'],
    [{ b: 1, a: 'x' }, 'map[a:x b:1]'],
    [{ nested: { k: ['v'] } }, 'map[nested:map[k:[v]]]'],
  ];
  for (const [value, expected] of cases) {
    it(`formats ${JSON.stringify(value)}`, () => assert.equal(formatValue(value), expected));
  }
});

describe('formatHumanDuration', () => {
  const cases: Array<[number, string]> = [
    [0, '0s'],
    [45, '45s'],
    [90, '1m30s'],
    [3600, '1h'],
    [3630, '1h0m30s'],
    [2764800, '768h'],
  ];
  for (const [seconds, expected] of cases) {
    it(`formats ${seconds} seconds`, () => assert.equal(formatHumanDuration(seconds), expected));
  }
});

describe('formatSection', () => {
  it('centers the title over the block', () => {
    const block = formatKeyValueTable([['version', 1]]);
    const [header] = formatSection('Data', block).split('\n');
    assert.match(header, /^=+ Data =+$/);
    assert.ok(Math.abs(header.length - block.split('\n')[0].length) <= 1);
  });
});

describe('formatSecretTable', () => {
  it('shows lease fields before sorted data', () => {
    const text = formatSecretTable({ lease_id: 'db/creds/x', lease_duration: 3600, renewable: true, data: { z: 1, a: 2 } });
    const keys = text.split('\n').slice(2).map((line) => line.split(/\s+/)[0]);
    assert.deepEqual(keys, ['lease_id', 'lease_duration', 'lease_renewable', 'a', 'z']);
  });

  it('shows refresh_interval without a lease id', () => {
    const text = formatSecretTable({ lease_duration: 2764800, data: { a: 'b' } });
    assert.match(text, /refresh_interval\s+768h/);
  });

  it('shows the auth block of a token', () => {
    const text = formatSecretTable({
      auth: { client_token: 't', accessor: 'acc', lease_duration: 0, renewable: false, policies: ['root'], token_policies: ['root'] },
    });
    assert.match(text, /token_duration\s+∞/);
    assert.match(text, /token_policies\s+\["root"\]/);
  });

  it('shows wrap info with colons', () => {
    const text = formatSecretTable({ wrap_info: { token: 'w', accessor: 'a', ttl: 300, creation_time: 't', creation_path: 'p' } });
    assert.match(text, /wrapping_token:\s+w/);
    assert.match(text, /wrapping_token_ttl:\s+5m/);
  });

  it('returns empty text for an empty body', () => {
    assert.equal(formatSecretTable({ data: {} }), '');
  });

  it('shows TTL and period seconds as durations', () => {
    const text = formatSecretTable({ data: { ttl: 3600, creation_ttl: '90', period: 0, token_period: 60, name: 'x', num_uses: 5 } });
    assert.match(text, /^ttl\s+1h$/m);
    assert.match(text, /^creation_ttl\s+1m30s$/m);
    assert.match(text, /^period\s+0s$/m);
    assert.match(text, /^token_period\s+1m$/m);
    assert.match(text, /^num_uses\s+5$/m);
  });

  it('keeps non-numeric TTL values', () => {
    const text = formatSecretTable({ data: { ttl: '1h', max_ttl: null } });
    assert.match(text, /^ttl\s+1h$/m);
    assert.match(text, /^max_ttl\s+<nil>$/m);
  });

  it('shows n/a for a batch token accessor', () => {
    const text = formatSecretTable({ auth: { client_token: 'hvb.x', accessor: '', lease_duration: 60, renewable: false } });
    assert.match(text, /^token_accessor\s+n\/a$/m);
    assert.match(text, /^token_duration\s+1m$/m);
  });
});

describe('selectField', () => {
  it('finds a data key', () => {
    assert.equal(selectField({ data: { password: 'p' } }, 'password'), 'p');
  });

  it('prefers the given source', () => {
    assert.equal(selectField({ data: { data: { a: 1 } } }, 'a', { a: 1 }), 1);
  });

  it('finds auth fields by table name', () => {
    const body = { auth: { client_token: 'tok', accessor: 'acc' } };
    assert.equal(selectField(body, 'token'), 'tok');
    assert.equal(selectField(body, 'token_accessor'), 'acc');
  });

  it('rejects a missing field', () => {
    assert.throws(() => selectField({ data: {} }, 'nope'), (err: unknown) => err instanceof CliError && /Field "nope" not present/.test(err.message));
  });
});

describe('formatFieldValue', () => {
  it('prints strings raw', () => assert.equal(formatFieldValue('a b', 'table'), 'a b'));
  it('prints lists Go-style in table format', () => assert.equal(formatFieldValue(['a', 'b'], 'table'), '[a b]'));
  it('prints lists as JSON in json format', () => assert.deepEqual(JSON.parse(formatFieldValue(['a'], 'json')), ['a']));
});

describe('authRows', () => {
  it('adds metadata rows', () => {
    const rows = authRows({ client_token: 't', metadata: { team: 'ops' } });
    assert.deepEqual(rows.at(-1), ['token_meta_team', 'ops']);
  });
});
