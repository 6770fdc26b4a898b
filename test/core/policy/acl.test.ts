import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWrappingTtl, compileAcl, type Acl } from '../../../src/core/policy/acl.js';
import { parsePolicy } from '../../../src/core/policy/parse.js';
import type { TemplateIdentity } from '../../../src/core/policy/types.js';
import type { Operation } from '../../../src/framework/types.js';

/** Compiles HCL policy texts, one policy per text, into an ACL. */
async function aclOf(texts: string[], identity?: TemplateIdentity): Promise<Acl> {
  const policies = await Promise.all(texts.map((text, i) => parsePolicy(`p${i}`, text)));
  return compileAcl(policies, identity);
}

function block(path: string, capabilities: string[], extra = ''): string {
  return `path "${path}" {\n  capabilities = ${JSON.stringify(capabilities)}\n${extra}}\n`;
}

describe('ACL path matching', () => {
  // Vault's documented examples: exact paths, trailing globs and `+` segments.
  const policy = [
    block('secret/foo', ['read']),
    block('secret/bar/*', ['read']),
    block('secret/zip-*', ['read']),
    block('secret/+/teamb', ['read']),
    block('secret/+/+/teamc', ['read']),
  ].join('\n');
  const cases: Array<[string, boolean]> = [
    ['secret/foo', true],
    ['secret/food', false],
    ['secret/foo/bar', false],
    ['secret/bar/zip', true],
    ['secret/bar/zip/zap', true],
    ['secret/bars/zip', false],
    ['secret/zip-zap', true],
    ['secret/zip-zap/zong', true],
    ['secret/zip/zap', false],
    ['secret/x/teamb', true],
    ['secret/x/y/teamb', false],
    ['secret/x/teamb/z', false],
    ['secret/a/b/teamc', true],
    ['secret/a/teamc', false],
  ];
  for (const [path, allowed] of cases) {
    it(`${allowed ? 'allows' : 'denies'} read on ${path}`, async () => {
      const acl = await aclOf([policy]);
      assert.equal(acl.check(path, 'read').allowed, allowed);
    });
  }

  it('matches "+*" patterns by segment and prefix', async () => {
    const acl = await aclOf([block('kv/+/app*', ['read'])]);
    assert.equal(acl.check('kv/team/app', 'read').allowed, true);
    assert.equal(acl.check('kv/team/apps/x', 'read').allowed, true);
    assert.equal(acl.check('kv/team/other', 'read').allowed, false);
    assert.equal(acl.check('kv/team', 'read').allowed, false);
  });

  it('treats "*" alone as everything', async () => {
    const acl = await aclOf([block('*', ['read'])]);
    assert.equal(acl.check('anything/at/all', 'read').allowed, true);
    assert.equal(acl.check('', 'read').allowed, true);
  });
});

describe('ACL priority', () => {
  // Each case: policies (each a list of [pattern, capabilities]), request path, expected capabilities.
  const cases: Array<[string, Array<Array<[string, string[]]>>, string, string[]]> = [
    ['exact beats glob', [[['secret/*', ['read']], ['secret/foo', ['list']]]], 'secret/foo', ['list']],
    ['deny on exact beats glob grant', [[['secret/*', ['read', 'update']], ['secret/super-secret', ['deny']]]], 'secret/super-secret', ['deny']],
    ['exact grant beats glob deny', [[['secret/*', ['deny']], ['secret/open', ['read']]]], 'secret/open', ['read']],
    ['longer glob wins', [[['secret/*', ['read']], ['secret/app/*', ['list']]]], 'secret/app/x', ['list']],
    ['later wildcard wins', [[['secret/+/x', ['read']], ['secret/a/+', ['list']]]], 'secret/a/x', ['list']],
    ['no trailing glob wins', [[['secret/+/x*', ['read']], ['secret/+/x', ['list']]]], 'secret/a/x', ['list']],
    ['plus beats star at same place', [[['secret/*', ['read']], ['secret/+/x', ['list']]]], 'secret/a/x', ['list']],
    // Vault's documented example: same first wildcard, both end in "*", fewer "+" segments win.
    ['fewer plus segments win', [[['secret/*', ['read']], ['secret/+/+/foo/*', ['list']]]], 'secret/a/b/foo/c', ['read']],
    ['longer wins when tied', [[['secret/+/ab', ['read']], ['secret/+/a*', ['list']]]], 'secret/x/ab', ['read']],
    ['lexicographic tie-break', [[['a/+/b', ['read']], ['a/+/c', ['list']]]], 'a/x/c', ['list']],
    ['glob prefix beats earlier plus', [[['secret/+/x', ['read']], ['secret/a*', ['list']]]], 'secret/a/x', ['list']],
    ['merges same pattern across policies', [[['secret/*', ['read']]], [['secret/*', ['list']]]], 'secret/a', ['list', 'read']],
    ['merges same pattern in one policy', [[['secret/a', ['read']], ['secret/a', ['update']]]], 'secret/a', ['read', 'update']],
    ['deny wins in a merge', [[['secret/a', ['read', 'sudo']]], [['secret/a', ['deny']]]], 'secret/a', ['deny']],
    ['deny wins regardless of order', [[['secret/a', ['deny']]], [['secret/a', ['read']]]], 'secret/a', ['deny']],
    ['specific pattern from another policy wins', [[['secret/*', ['deny']]], [['secret/app/*', ['read']]]], 'secret/app/x', ['read']],
    ['no match is deny', [[['secret/a', ['read']]]], 'other/a', ['deny']],
  ];
  for (const [title, policies, path, expected] of cases) {
    it(title, async () => {
      const texts = policies.map((rules) => rules.map(([pattern, caps]) => block(pattern, caps)).join('\n'));
      const acl = await aclOf(texts);
      assert.deepEqual(acl.capabilities(path), expected);
    });
  }

  it('denies every operation on a denied path', async () => {
    const acl = await aclOf([block('secret/*', ['create', 'read', 'update', 'delete', 'list', 'sudo']), block('secret/x', ['deny'])]);
    for (const op of ['read', 'create', 'update', 'patch', 'delete', 'list'] as Operation[]) {
      const result = acl.check('secret/x', op);
      assert.equal(result.allowed, false, op);
      assert.equal(result.sudo, false, op);
    }
  });
});

describe('ACL operations', () => {
  it('maps operations to capabilities', async () => {
    const acl = await aclOf([block('a', ['read', 'patch'])]);
    assert.equal(acl.check('a', 'read').allowed, true);
    assert.equal(acl.check('a', 'patch').allowed, true);
    for (const op of ['create', 'update', 'delete', 'list'] as Operation[]) {
      const result = acl.check('a', op);
      assert.equal(result.allowed, false, op);
      assert.match(result.reason ?? '', new RegExp(`"${op}" capability`));
    }
  });

  it('reports sudo and capabilities', async () => {
    const acl = await aclOf([block('sys/audit/*', ['update', 'sudo'])]);
    const result = acl.check('sys/audit/file', 'update');
    assert.equal(result.allowed, true);
    assert.equal(result.sudo, true);
    assert.deepEqual(result.capabilities, ['sudo', 'update']);
  });

  it('lets a LIST of dir/ use rules for dir', async () => {
    const acl = await aclOf([block('secret/metadata/app', ['list']), block('kv/+', ['list'])]);
    assert.equal(acl.check('secret/metadata/app/', 'list').allowed, true);
    assert.equal(acl.check('kv/team/', 'list').allowed, true);
    assert.equal(acl.check('secret/metadata/app/', 'read').allowed, false);
  });

  it('gives root everything', async () => {
    const acl = compileAcl([{ name: 'root', raw: '', paths: [], templated: false }]);
    assert.equal(acl.root, true);
    const result = acl.check('sys/seal', 'update', { anything: 1 });
    assert.equal(result.allowed, true);
    assert.equal(result.sudo, true);
    assert.deepEqual(acl.capabilities('x'), ['root']);
  });

  it('reports deny for a path with no capabilities', async () => {
    const acl = await aclOf(['path "a" {\n}\n']);
    assert.deepEqual(acl.capabilities('a'), ['deny']);
    assert.equal(acl.check('a', 'read').allowed, false);
  });
});

describe('ACL parameters', () => {
  it('requires required parameters on writes', async () => {
    const acl = await aclOf([block('secret/profile', ['create', 'read'], '  required_parameters = ["name", "id"]\n')]);
    assert.equal(acl.check('secret/profile', 'create', { name: 'a', id: '1' }).allowed, true);
    const missing = acl.check('secret/profile', 'create', { name: 'a' });
    assert.equal(missing.allowed, false);
    assert.match(missing.reason ?? '', /missing required parameter "id"/);
    assert.equal(acl.check('secret/profile', 'create', {}).allowed, false);
    assert.equal(acl.check('secret/profile', 'read', {}).allowed, true);
  });

  it('limits names and values with allowed_parameters', async () => {
    const acl = await aclOf([
      block('secret/restricted', ['create', 'update', 'read'], '  allowed_parameters = {\n    "foo" = []\n    "bar" = ["zip", "zap"]\n  }\n'),
    ]);
    const check = (data: Record<string, unknown>) => acl.check('secret/restricted', 'update', data).allowed;
    assert.equal(check({}), true);
    assert.equal(check({ foo: 'anything' }), true);
    assert.equal(check({ bar: 'zip' }), true);
    assert.equal(check({ BAR: 'zap' }), true);
    assert.equal(check({ bar: 'zop' }), false);
    assert.equal(check({ other: 'x' }), false);
    assert.equal(acl.check('secret/restricted', 'read', { other: 'x' }).allowed, true);
  });

  it('allows other parameters with "*"', async () => {
    const acl = await aclOf([block('secret/foo', ['create'], '  allowed_parameters = {\n    "bar" = ["zip", "zap"]\n    "*" = []\n  }\n')]);
    assert.equal(acl.check('secret/foo', 'create', { bar: 'zip', other: 'x' }).allowed, true);
    assert.equal(acl.check('secret/foo', 'create', { bar: 'nope', other: 'x' }).allowed, false);
  });

  it('matches value globs', async () => {
    const acl = await aclOf([block('a', ['update'], '  allowed_parameters = {\n    "p" = ["foo-*", "*-bar", "*mid*"]\n  }\n')]);
    const cases: Array<[string, boolean]> = [
      ['foo-1', true],
      ['x-bar', true],
      ['xmidy', true],
      ['foo', false],
      ['bar', false],
      ['other', false],
    ];
    for (const [value, allowed] of cases) {
      assert.equal(acl.check('a', 'update', { p: value }).allowed, allowed, value);
    }
  });

  it('checks denied_parameters before allowed', async () => {
    const acl = await aclOf([
      block(
        'auth/token/roles/*',
        ['create', 'update'],
        '  allowed_parameters = {\n    "allowed_policies" = []\n    "name" = []\n  }\n  denied_parameters = {\n    "allowed_policies" = ["admin", "root*"]\n  }\n',
      ),
    ]);
    const check = (value: unknown) => acl.check('auth/token/roles/r', 'update', { allowed_policies: value }).allowed;
    assert.equal(check('dev'), true);
    assert.equal(check('admin'), false);
    assert.equal(check('rootish'), false);
    assert.equal(check(['dev', 'admin']), false);
    assert.equal(check('dev,admin'), false);
  });

  it('denies any value with an empty denied list', async () => {
    const acl = await aclOf([block('auth/userpass/users/*', ['update'], '  denied_parameters = {\n    "token_policies" = []\n  }\n')]);
    assert.equal(acl.check('auth/userpass/users/u', 'update', { password: 'p' }).allowed, true);
    assert.equal(acl.check('auth/userpass/users/u', 'update', { token_policies: '' }).allowed, false);
  });

  it('denies every parameter with "*"', async () => {
    const acl = await aclOf([block('transit/keys/*', ['create', 'update'], '  denied_parameters = {\n    "*" = []\n  }\n')]);
    assert.equal(acl.check('transit/keys/k', 'update', {}).allowed, true);
    assert.equal(acl.check('transit/keys/k', 'update', { type: 'aes256-gcm96' }).allowed, false);
  });

  it('matches non-string values exactly', async () => {
    const acl = await aclOf([block('secret/foo', ['create'], '  denied_parameters = {\n    "no_store" = [false, "false"]\n  }\n')]);
    assert.equal(acl.check('secret/foo', 'create', { no_store: false }).allowed, false);
    assert.equal(acl.check('secret/foo', 'create', { no_store: 'false' }).allowed, false);
    assert.equal(acl.check('secret/foo', 'create', { no_store: true }).allowed, true);
    assert.equal(acl.check('secret/foo', 'create', { value: 'bar' }).allowed, true);
  });

  it('checks list values element by element', async () => {
    const acl = await aclOf([block('a', ['update'], '  allowed_parameters = {\n    "x" = ["A", "B"]\n  }\n')]);
    assert.equal(acl.check('a', 'update', { x: ['A', 'B'] }).allowed, true);
    assert.equal(acl.check('a', 'update', { x: ['A', 'C'] }).allowed, false);
    assert.equal(acl.check('a', 'update', { x: 'A,B' }).allowed, true);
    assert.equal(acl.check('a', 'update', { x: [] }).allowed, false);
  });

  it('merges parameter lists across policies', async () => {
    const acl = await aclOf([
      block('a', ['update'], '  allowed_parameters = {\n    "x" = ["1"]\n    "y" = ["1"]\n  }\n  required_parameters = ["x"]\n'),
      block('a', ['update'], '  allowed_parameters = {\n    "x" = ["2"]\n    "y" = []\n  }\n  required_parameters = ["y"]\n'),
    ]);
    assert.equal(acl.check('a', 'update', { x: '2', y: 'anything' }).allowed, true);
    assert.equal(acl.check('a', 'update', { x: '3', y: '1' }).allowed, false);
    assert.equal(acl.check('a', 'update', { x: '1' }).allowed, false);
  });

  it('skips parameter checks for delete and list', async () => {
    const acl = await aclOf([block('a', ['delete', 'list'], '  required_parameters = ["x"]\n  denied_parameters = {\n    "*" = []\n  }\n')]);
    assert.equal(acl.check('a', 'delete', { y: 1 }).allowed, true);
    assert.equal(acl.check('a', 'list', { y: 1 }).allowed, true);
  });
});

describe('ACL wrapping TTLs', () => {
  it('reports the bounds of the matched rule', async () => {
    const acl = await aclOf([block('auth/approle/role/r/secret-id', ['update'], '  min_wrapping_ttl = "1s"\n  max_wrapping_ttl = "90s"\n')]);
    const result = acl.check('auth/approle/role/r/secret-id', 'update');
    assert.equal(result.minWrappingTtl, 1);
    assert.equal(result.maxWrappingTtl, 90);
    assert.equal(checkWrappingTtl(result, undefined), 'response wrapping is required on this path');
    assert.equal(checkWrappingTtl(result, 30), null);
    assert.match(checkWrappingTtl(result, 91) ?? '', /above the maximum/);
  });

  it('keeps the lowest bound when merging', async () => {
    const acl = await aclOf([
      block('a', ['update'], '  min_wrapping_ttl = "10s"\n  max_wrapping_ttl = "1h"\n'),
      block('a', ['update'], '  min_wrapping_ttl = "5s"\n  max_wrapping_ttl = "10m"\n'),
      block('a', ['read']),
    ]);
    const result = acl.check('a', 'update');
    assert.equal(result.minWrappingTtl, 5);
    assert.equal(result.maxWrappingTtl, 600);
    assert.match(checkWrappingTtl(result, 2) ?? '', /below the minimum/);
  });

  it('leaves bounds out when none are set', async () => {
    const acl = await aclOf([block('a', ['read'])]);
    const result = acl.check('a', 'read');
    assert.equal(result.minWrappingTtl, undefined);
    assert.equal(result.maxWrappingTtl, undefined);
    assert.equal(checkWrappingTtl(result, undefined), null);
  });
});

describe('ACL templates', () => {
  const identity: TemplateIdentity = {
    entityId: 'ent-1',
    entityName: 'alice',
    entityMetadata: { team: 'blue' },
    aliases: [{ mountAccessor: 'auth_userpass_1', id: 'alias-1', name: 'alice@corp', metadata: { region: 'eu' } }],
    groups: [{ id: 'grp-1', name: 'ops', metadata: { tier: 'gold' } }],
  };
  const cases: Array<[string, string]> = [
    ['secret/{{identity.entity.id}}/*', 'secret/ent-1/x'],
    ['secret/{{ identity.entity.name }}/x', 'secret/alice/x'],
    ['secret/{{identity.entity.metadata.team}}/*', 'secret/blue/x'],
    ['secret/{{identity.entity.aliases.auth_userpass_1.name}}', 'secret/alice@corp'],
    ['secret/{{identity.entity.aliases.auth_userpass_1.id}}', 'secret/alias-1'],
    ['secret/{{identity.entity.aliases.auth_userpass_1.metadata.region}}', 'secret/eu'],
    ['secret/{{identity.groups.ids.grp-1.name}}', 'secret/ops'],
    ['secret/{{identity.groups.names.ops.id}}', 'secret/grp-1'],
    ['secret/{{identity.groups.names.ops.metadata.tier}}', 'secret/gold'],
  ];
  for (const [pattern, path] of cases) {
    it(`fills ${pattern}`, async () => {
      const acl = await aclOf([block(pattern, ['read'])], identity);
      assert.equal(acl.check(path, 'read').allowed, true);
      assert.equal(acl.check('secret/other/x', 'read').allowed, false);
    });
  }

  it('skips a path it cannot fill', async () => {
    const text = block('secret/{{identity.entity.metadata.missing}}/*', ['read']) + block('secret/public', ['read']);
    const acl = await aclOf([text], identity);
    assert.equal(acl.check('secret//x', 'read').allowed, false);
    assert.equal(acl.check('secret/public', 'read').allowed, true);
    const anonymous = await aclOf([text]);
    assert.equal(anonymous.check('secret/public', 'read').allowed, true);
  });

  it('skips values that would widen the pattern', async () => {
    for (const name of ['*', 'a+b', 'x{{y']) {
      const acl = await aclOf([block('secret/{{identity.entity.name}}', ['read'])], { entityName: name });
      assert.deepEqual(acl.capabilities(`secret/${name}`), ['deny'], name);
      assert.deepEqual(acl.capabilities('secret/anything'), ['deny'], name);
    }
  });

  it('ignores metadata keys from the prototype', async () => {
    const acl = await aclOf([block('secret/{{identity.entity.metadata.constructor}}', ['read'])], { entityMetadata: {} });
    assert.deepEqual(acl.capabilities('secret/function Object() { [native code] }'), ['deny']);
  });
});

describe('ACL scale', () => {
  it('checks many rules', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 500; i++) {
      lines.push(block(`secret/app${i}`, ['read']), block(`kv/app${i}/*`, ['read']), block(`db/+/role${i}`, ['read']));
    }
    const acl = await aclOf([lines.join('\n')]);
    assert.equal(acl.check('secret/app499', 'read').allowed, true);
    assert.equal(acl.check('kv/app250/deep/path', 'read').allowed, true);
    assert.equal(acl.check('db/x/role7', 'read').allowed, true);
    assert.equal(acl.check('db/x/role7/y', 'read').allowed, false);
    let allowed = 0;
    for (let i = 0; i < 10000; i++) if (acl.check(`kv/app${i % 500}/x`, 'read').allowed) allowed++;
    assert.equal(allowed, 10000);
  });
});
