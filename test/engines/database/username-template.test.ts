import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsernameTemplate } from '../../../src/engines/database/username-template.js';

const data = { DisplayName: 'token-with-display-name', RoleName: 'my_custom_database_role' };
// 2009-02-13T23:31:30Z, the instant Vault's username templating docs use.
const now = new Date(1234567890 * 1000);

function render(template: string): string {
  return UsernameTemplate.parse(template).render(data, now);
}

test('template fields and plain text', () => {
  assert.equal(render('{{.DisplayName}}_{{ .RoleName }}'), 'token-with-display-name_my_custom_database_role');
});

test('template pipes replace and uppercase', () => {
  assert.equal(render('FOO_{{.DisplayName | replace "-" "_" | uppercase}}'), 'FOO_TOKEN_WITH_DISPLAY_NAME');
  assert.equal(render('{{ .RoleName | uppercase | lowercase }}'), 'my_custom_database_role');
});

test('template printf with truncate', () => {
  const username = render('{{printf "v_%s_%s_%s_%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 45}}');
  assert.match(username, /^v_token-wi_my_custo_[A-Za-z0-9]{20}_1234$/);
});

test('template default postgres form', () => {
  const template = '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}';
  assert.match(render(template), /^v-token-wi-my_custo-[A-Za-z0-9]{20}-1234567890$/);
});

test('template time and hash functions', () => {
  assert.equal(render('{{timestamp "2006_01_02T15_04_05Z"}}'), '2009_02_13T23_31_30Z');
  assert.equal(render('{{unix_time_millis}}'), '1234567890000');
  assert.equal(render('{{ "abc" | sha256 | truncate 8 }}'), 'ba7816bf');
  assert.equal(render('{{ "abc" | base64 }}'), 'YWJj');
  assert.match(render('{{uuid}}'), /^[0-9a-f-]{36}$/);
  assert.equal(render('{{ "abcdefghijklmnopqrstuvwxyz" | truncate_sha256 20 }}'), 'abcdefghijkl872808ff');
});

test('template random draws fresh values', () => {
  const template = UsernameTemplate.parse('{{random 16}}');
  assert.notEqual(template.render(data, now), template.render(data, now));
});

test('template errors are 400 with the problem', () => {
  const cases: Array<[string, RegExp]> = [
    ['{{ .DisplayName ', /unclosed action/],
    ['{{ nosuch 3 }}', /function "nosuch" not defined/],
    ['{{ .Other }}', /unknown field ".Other"/],
    ['{{ truncate }}', /truncate takes 2 arguments/],
    ['{{ random 100000 }}', /whole number from 0/],
    ['{{ (random 3 }}', /unclosed "\("/],
    ['{{ printf "%s %s" "a" }}', /more verbs than arguments/],
    ['{{ }}', /empty command/],
  ];
  for (const [template, message] of cases) {
    assert.throws(() => render(template), (err: Error & { status?: number }) => {
      assert.equal(err.status, 400, template);
      assert.match(err.message, message, template);
      return true;
    });
  }
});
