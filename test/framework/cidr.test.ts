import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressAllowed, checkCidrList, cidrsWithin, normalizeAddress, parseCidr } from '../../src/framework/cidr.js';
import { BadRequestError } from '../../src/errors.js';

describe('cidr', () => {
  test('parseCidr accepts blocks and bare addresses', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { network: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('127.0.0.1'), { network: '127.0.0.1', prefix: 32, family: 'ipv4' });
    assert.deepEqual(parseCidr('fd00::/8'), { network: 'fd00::', prefix: 8, family: 'ipv6' });
    assert.deepEqual(parseCidr('::1'), { network: '::1', prefix: 128, family: 'ipv6' });
  });

  test('parseCidr rejects malformed blocks', () => {
    for (const text of ['', '10.0.0.0/33', '10.0.0.0/', '10.0.0/8', 'fd00::/129', 'host/8', '10.0.0.0/-1', '10.0.0.0/8/1']) {
      assert.equal(parseCidr(text), null, text);
    }
  });

  test('checkCidrList names the bad entry', () => {
    assert.deepEqual(checkCidrList('x', ['10.0.0.0/8']), ['10.0.0.0/8']);
    assert.throws(() => checkCidrList('token_bound_cidrs', ['10.0.0.0/8', 'nope']), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.match(err.message, /"nope" in "token_bound_cidrs"/);
      return true;
    });
  });

  test('IPv4-mapped IPv6 peers match IPv4 blocks', () => {
    assert.deepEqual(normalizeAddress('::ffff:127.0.0.1'), { address: '127.0.0.1', family: 'ipv4' });
    assert.equal(addressAllowed('::ffff:127.0.0.1', ['127.0.0.0/8']), true);
    assert.equal(addressAllowed('::FFFF:10.1.2.3', ['10.0.0.0/8']), true);
    assert.equal(addressAllowed('::ffff:192.168.1.1', ['10.0.0.0/8']), false);
  });

  test('addressAllowed checks families and empty lists', () => {
    assert.equal(addressAllowed('10.1.2.3', []), true);
    assert.equal(addressAllowed('10.1.2.3', ['10.0.0.0/8']), true);
    assert.equal(addressAllowed('11.1.2.3', ['10.0.0.0/8']), false);
    assert.equal(addressAllowed('::1', ['127.0.0.1/32']), false);
    assert.equal(addressAllowed('::1', ['::1']), true);
    assert.equal(addressAllowed('', ['10.0.0.0/8']), false);
    assert.equal(addressAllowed('not-an-ip', ['10.0.0.0/8']), false);
  });

  test('cidrsWithin requires each inner block inside an outer one', () => {
    assert.equal(cidrsWithin(['10.1.0.0/16', '10.2.3.4'], ['10.0.0.0/8']), true);
    assert.equal(cidrsWithin(['10.0.0.0/7'], ['10.0.0.0/8']), false);
    assert.equal(cidrsWithin(['11.0.0.0/16'], ['10.0.0.0/8']), false);
    assert.equal(cidrsWithin(['10.1.0.0/16'], ['10.1.0.0/16', '192.168.0.0/16']), true);
    assert.equal(cidrsWithin(['fd00:1::/32'], ['10.0.0.0/8']), false);
    assert.equal(cidrsWithin([], ['10.0.0.0/8']), true);
  });
});
