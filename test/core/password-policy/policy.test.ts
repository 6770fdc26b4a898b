import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PASSWORD_POLICY, generatePassword, parsePasswordPolicy } from '../../../src/core/password-policy/policy.js';

const POLICY = `
length = 24
rule "charset" {
  charset = "abcdefghijklmnopqrstuvwxyz"
  min-chars = 2
}
rule "charset" {
  charset = "0123456789"
  min-chars = 3
}
rule "charset" {
  charset = "!@#"
  min-chars = 1
}
`;

test('password policy HCL meets its rules', async () => {
  const policy = await parsePasswordPolicy(POLICY);
  assert.equal(policy.length, 24);
  for (let i = 0; i < 50; i++) {
    const password = generatePassword(policy);
    assert.equal(password.length, 24);
    assert.ok((password.match(/[a-z]/g) ?? []).length >= 2, password);
    assert.ok((password.match(/[0-9]/g) ?? []).length >= 3, password);
    assert.ok((password.match(/[!@#]/g) ?? []).length >= 1, password);
    assert.match(password, /^[a-z0-9!@#]+$/);
  }
});

test('password policy JSON and base64 forms', async () => {
  const json = await parsePasswordPolicy('{"length": 8, "rule": [{"charset": {"charset": "ab", "min-chars": 8}}]}');
  assert.match(generatePassword(json), /^[ab]{8}$/);
  const encoded = await parsePasswordPolicy(Buffer.from(POLICY).toString('base64'));
  assert.equal(encoded.length, 24);
});

test('default password policy', () => {
  const password = generatePassword(DEFAULT_PASSWORD_POLICY);
  assert.equal(password.length, 20);
  for (const pattern of [/[a-z]/, /[A-Z]/, /[0-9]/, /-/]) assert.match(password, pattern);
});

test('password policy rejects bad input', async () => {
  const cases: Array<[string, RegExp]> = [
    ['length = 20', /at least one rule "charset"/],
    ['length = 3\nrule "charset" {\n charset = "ab"\n}', /from 4 to/],
    ['length = 4\nrule "charset" {\n charset = "ab"\n min-chars = 5\n}', /require 5 characters/],
    ['length = 8\nrule "charset" {\n charset = ""\n}', /non-empty "charset"/],
    ['length = 8\nrule "nope" {\n x = 1\n}', /unknown rule type "nope"/],
    ['length = 8\nsize = 2\nrule "charset" {\n charset = "ab"\n}', /unknown key "size"/],
    ['length = 8\nrule "charset" {\n charset = "a\\tb"\n}', /unprintable character U\+0009/],
    ['length = "x"', /whole number/],
    ['{"length": 8,', /invalid JSON/],
    ['length = = 8', /invalid HCL/],
  ];
  for (const [text, message] of cases) {
    await assert.rejects(parsePasswordPolicy(text), (err: Error & { status?: number }) => {
      assert.equal(err.status, 400, text);
      assert.match(err.message, message, text);
      return true;
    });
  }
});
