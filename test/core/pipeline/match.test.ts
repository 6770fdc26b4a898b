import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matchesAny } from '../../../src/core/pipeline.js';

describe('matchesAny', () => {
  const cases: Array<[string[], string, boolean]> = [
    [['login'], 'login', true],
    [['login'], 'login/', true],
    [['login'], 'login/x', false],
    [['login/*'], 'login/alice', true],
    [['login*'], 'login', true],
    [['issuer/+/pem'], 'issuer/default/pem', true],
    [['issuer/+/pem'], 'issuer//pem', false],
    [['issuer/+/pem'], 'issuer/a/b/pem', false],
    [['issuer/+/crl*'], 'issuer/a/crl/pem', true],
    [['issuer/+/crl*'], 'issuer/a/der', false],
    [[], 'anything', false],
  ];
  for (const [patterns, path, expected] of cases) {
    it(`${JSON.stringify(patterns)} against ${path}`, () => {
      assert.equal(matchesAny(patterns, path), expected);
    });
  }
});
