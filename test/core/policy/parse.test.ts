import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError } from '../../../src/errors.js';
import { DEFAULT_POLICY_TEXT, RESPONSE_WRAPPING_POLICY_TEXT } from '../../../src/core/policy/builtin.js';
import { parsePolicy } from '../../../src/core/policy/parse.js';
import type { Policy } from '../../../src/core/policy/types.js';

const HCL_POLICY = `# Grants on secret/
path "secret/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}

path "secret/super-secret" {
  capabilities = ["deny"]
}

path "secret/restricted" {
  capabilities = ["create"]
  required_parameters = ["Name"]
  allowed_parameters = {
    "foo" = []
    "Bar" = ["zip", "zap*"]
  }
  denied_parameters = {
    "no_store" = [false, "false"]
  }
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = "90s"
}
`;

const JSON_POLICY = JSON.stringify(
  {
    path: {
      'secret/*': { capabilities: ['create', 'read', 'update', 'patch', 'delete', 'list'] },
      'secret/super-secret': { capabilities: ['deny'] },
      'secret/restricted': {
        capabilities: ['create'],
        required_parameters: ['Name'],
        allowed_parameters: { foo: [], Bar: ['zip', 'zap*'] },
        denied_parameters: { no_store: [false, 'false'] },
        min_wrapping_ttl: '1s',
        max_wrapping_ttl: 90,
      },
    },
  },
  null,
  2,
);

/** Drops fields that depend on the text's layout, for comparing HCL and JSON results. */
function rulesOf(policy: Policy) {
  return policy.paths.map(({ line: _line, ...rule }) => ({
    ...rule,
    allowedParameters: Object.fromEntries(rule.allowedParameters),
    deniedParameters: Object.fromEntries(rule.deniedParameters),
  }));
}

/** Runs parsePolicy and returns the BadRequestError it throws. */
async function parseError(text: string, name = 'test'): Promise<BadRequestError> {
  try {
    await parsePolicy(name, text);
  } catch (err) {
    assert.ok(err instanceof BadRequestError, `expected BadRequestError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the policy to be rejected');
}

describe('parsePolicy HCL', () => {
  it('reads every path key', async () => {
    const policy = await parsePolicy('Mixed-Case', HCL_POLICY);
    assert.equal(policy.name, 'mixed-case');
    assert.equal(policy.raw, HCL_POLICY);
    assert.equal(policy.templated, false);
    assert.deepEqual(
      policy.paths.map((rule) => rule.path),
      ['secret/*', 'secret/super-secret', 'secret/restricted'],
    );
    const restricted = policy.paths[2];
    assert.deepEqual(restricted.capabilities, ['create']);
    assert.deepEqual(restricted.requiredParameters, ['name']);
    assert.deepEqual(Object.fromEntries(restricted.allowedParameters), { foo: [], bar: ['zip', 'zap*'] });
    assert.deepEqual(Object.fromEntries(restricted.deniedParameters), { no_store: [false, 'false'] });
    assert.equal(restricted.minWrappingTtl, 1);
    assert.equal(restricted.maxWrappingTtl, 90);
  });

  it('records block lines', async () => {
    const policy = await parsePolicy('p', HCL_POLICY);
    assert.deepEqual(
      policy.paths.map((rule) => rule.line),
      [2, 6, 10],
    );
  });

  it('matches the JSON form', async () => {
    const fromHcl = await parsePolicy('p', HCL_POLICY);
    const fromJson = await parsePolicy('p', JSON_POLICY);
    assert.deepEqual(rulesOf(fromJson), rulesOf(fromHcl));
  });

  it('keeps repeated path blocks apart', async () => {
    const policy = await parsePolicy('p', 'path "a" {\n  capabilities = ["read"]\n}\npath "a" {\n  capabilities = ["list"]\n}\n');
    assert.equal(policy.paths.length, 2);
    assert.deepEqual(policy.paths[0].capabilities, ['read']);
    assert.deepEqual(policy.paths[1].capabilities, ['list']);
    assert.equal(policy.paths[1].line, 4);
  });

  it('maps legacy policy values', async () => {
    const cases: Array<[string, string[]]> = [
      ['deny', ['deny']],
      ['read', ['read', 'list']],
      ['write', ['create', 'read', 'update', 'patch', 'delete', 'list']],
      ['sudo', ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo']],
    ];
    for (const [legacy, expected] of cases) {
      const policy = await parsePolicy('p', `path "a" { policy = "${legacy}" }`);
      assert.deepEqual([...policy.paths[0].capabilities].sort(), [...expected].sort(), legacy);
    }
  });

  it('joins legacy policy with capabilities', async () => {
    const policy = await parsePolicy('p', 'path "a" {\n  policy = "read"\n  capabilities = ["sudo"]\n}');
    assert.deepEqual([...policy.paths[0].capabilities].sort(), ['list', 'read', 'sudo']);
  });

  it('accepts an empty policy', async () => {
    const policy = await parsePolicy('p', '');
    assert.deepEqual(policy.paths, []);
    const comments = await parsePolicy('p', '# nothing here\n');
    assert.deepEqual(comments.paths, []);
  });

  it('merges parameter blocks', async () => {
    const text = 'path "a" {\n  capabilities = ["update"]\n  allowed_parameters {\n    x = ["1"]\n  }\n  allowed_parameters {\n    x = ["2"]\n    y = []\n  }\n}';
    const policy = await parsePolicy('p', text);
    assert.deepEqual(Object.fromEntries(policy.paths[0].allowedParameters), { x: ['1', '2'], y: [] });
  });

  it('flags templated paths', async () => {
    const policy = await parsePolicy('p', 'path "secret/data/{{identity.entity.id}}/*" { capabilities = ["read"] }');
    assert.equal(policy.templated, true);
    assert.equal(policy.paths[0].path, 'secret/data/{{identity.entity.id}}/*');
  });

  it('drops a leading slash from paths', async () => {
    const policy = await parsePolicy('p', 'path "/secret/a" { capabilities = ["read"] }');
    assert.equal(policy.paths[0].path, 'secret/a');
  });

  it('parses the built-in policies', async () => {
    const defaults = await parsePolicy('default', DEFAULT_POLICY_TEXT);
    assert.ok(defaults.paths.some((rule) => rule.path === 'cubbyhole/*'));
    const wrapping = await parsePolicy('response-wrapping', RESPONSE_WRAPPING_POLICY_TEXT);
    assert.equal(wrapping.paths.length, 2);
  });
});

describe('parsePolicy JSON', () => {
  it('accepts a list of path objects', async () => {
    const text = JSON.stringify({ path: [{ a: { capabilities: ['read'] } }, { b: [{ capabilities: ['list'] }] }] });
    const policy = await parsePolicy('p', text);
    assert.deepEqual(
      policy.paths.map((rule) => [rule.path, rule.capabilities]),
      [
        ['a', ['read']],
        ['b', ['list']],
      ],
    );
  });

  it('accepts leading whitespace', async () => {
    const policy = await parsePolicy('p', '\n  {"path": {"a": {"capabilities": ["read"]}}}');
    assert.equal(policy.paths[0].path, 'a');
  });
});

describe('parsePolicy errors', () => {
  // Each case: policy text, the line the message must name, and a fragment of the message.
  const cases: Array<[string, string, number, RegExp]> = [
    ['HCL syntax', 'path "a" {\n  capabilities = ["read"\n}\n', 3, /invalid HCL/],
    ['unclosed block', 'path "a" {\n  capabilities = ["read"]\n\npath "b" {\n', 4, /invalid HCL/],
    ['unknown capability', 'path "a" {\n  capabilities = ["read"]\n}\n\npath "b" {\n  capabilities = ["reed"]\n}\n', 6, /unknown capability "reed"/],
    ['capability not a string', 'path "a" {\n  capabilities = [1]\n}', 2, /unknown capability number/],
    ['capabilities not a list', 'path "a" {\n  capabilities = "read"\n}', 2, /must be a list/],
    ['unknown path key', 'path "a" {\n  capabilities = ["read"]\n  colour = "red"\n}', 3, /unknown key "colour"/],
    ['unknown top-level key', 'path "a" {\n  capabilities = ["read"]\n}\n\nname = "x"\n', 5, /unknown top-level key "name"/],
    ['bad legacy policy', 'path "a" {\n\n  policy = "admin"\n}', 3, /invalid "policy" value/],
    ['bad duration', 'path "a" {\n  capabilities = ["read"]\n  min_wrapping_ttl = "soon"\n}', 3, /min_wrapping_ttl/],
    ['max below min', 'path "a" {\n  min_wrapping_ttl = "5m"\n  max_wrapping_ttl = "1m"\n}', 3, /must not be less than/],
    ['star with values', 'path "a" {\n  denied_parameters = {\n    "*" = ["x"]\n  }\n}', 2, /accepts only an empty list/],
    ['parameter not a list', 'path "a" {\n  allowed_parameters = {\n    "x" = "y"\n  }\n}', 2, /must be a list/],
    ['required not a list', 'path "a" {\n  required_parameters = "x"\n}', 2, /required_parameters/],
    ['unknown template', 'path "a" {}\npath "b/{{identity.entity.secret}}" {\n  capabilities = ["read"]\n}', 2, /unknown template/],
    ['unbalanced template', 'path "b/{{identity.entity.id" {\n  capabilities = ["read"]\n}', 1, /unbalanced/],
    ['path not a block', 'path = "x"\n', 1, /"path" must map/],
    ['deep nesting', `path "a" {\n  allowed_parameters = { x = ${'['.repeat(200)} }\n}`, 2, /nested deeper/],
    ['JSON syntax', '{\n  "path": {\n    "a": {"capabilities": ["read"],}\n  }\n}', 3, /invalid JSON/],
    ['JSON truncated', '{\n  "path": {\n    "a": {\n', 4, /invalid JSON/],
    ['JSON unknown capability', '{\n  "path": {\n    "a": {\n      "capabilities": ["nope"]\n    }\n  }\n}', 4, /unknown capability "nope"/],
    ['JSON top-level key', '{\n  "path": {},\n  "other": 1\n}', 3, /unknown top-level key "other"/],
    ['JSON not an object', '{"path": {"a": 5}}', 1, /must be followed by a block/],
  ];
  for (const [title, text, line, pattern] of cases) {
    it(`names the line: ${title}`, async () => {
      const err = await parseError(text, 'Team-Policy');
      assert.equal(err.status, 400);
      assert.match(err.message, /policy "team-policy"/);
      assert.match(err.message, new RegExp(`, line ${line}:`));
      assert.match(err.message, pattern);
    });
  }

  it('rejects text over the size limit', async () => {
    const err = await parseError(`# ${'x'.repeat(1024 * 1024)}\n`);
    assert.match(err.message, /maximum/);
  });

  it('rejects a JSON array document', async () => {
    const err = await parseError('{"path": [1]}');
    assert.match(err.message, /"path" must map/);
  });
});

describe('parsePolicy fuzz', () => {
  const SEEDS = [
    HCL_POLICY,
    JSON_POLICY,
    DEFAULT_POLICY_TEXT,
    'path "secret/+/x*" { capabilities = ["read"] }',
    'path "a/{{identity.entity.metadata.team}}/*" {\n policy = "write"\n}',
  ];
  const ALPHABET = ['{', '}', '[', ']', '"', '=', ',', ':', '\n', ' ', '*', '+', '#', '\\', '$', '<<EOF\n', 'path', 'capabilities', 'read', 'x', '0', '\u0000', '\u00e9', '{{', '}}'];

  /** A small seeded generator (mulberry32), so a failing case can be reproduced. */
  function random(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function mutate(text: string, next: () => number): string {
    let result = text;
    const edits = 1 + Math.floor(next() * 4);
    for (let i = 0; i < edits; i++) {
      const at = Math.floor(next() * (result.length + 1));
      const choice = next();
      if (choice < 0.4) result = result.slice(0, at) + result.slice(at + 1 + Math.floor(next() * 5));
      else if (choice < 0.8) result = result.slice(0, at) + ALPHABET[Math.floor(next() * ALPHABET.length)] + result.slice(at);
      else result = result.slice(0, at) + result.slice(Math.floor(next() * result.length));
    }
    return result;
  }

  function randomText(next: () => number): string {
    const parts: string[] = [];
    const count = Math.floor(next() * 30);
    for (let i = 0; i < count; i++) parts.push(ALPHABET[Math.floor(next() * ALPHABET.length)]);
    return parts.join('');
  }

  async function parseWithin(text: string, ms: number): Promise<'ok' | 'rejected'> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`parse did not finish in ${ms} ms: ${JSON.stringify(text)}`)), ms);
    });
    try {
      const policy = await Promise.race([parsePolicy('fuzz', text), timeout]);
      assert.ok(Array.isArray(policy.paths), `no paths for ${JSON.stringify(text)}`);
      return 'ok';
    } catch (err) {
      if (err instanceof BadRequestError) return 'rejected';
      throw new Error(`unexpected ${String(err)} for ${JSON.stringify(text)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  it('returns a policy or a BadRequestError', async () => {
    const next = random(20240611);
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < 600; i++) {
      const text = i % 3 === 0 ? randomText(next) : mutate(SEEDS[i % SEEDS.length], next);
      outcomes[await parseWithin(text, 5000)]++;
    }
    assert.ok(outcomes.ok > 0, 'some inputs should parse');
    assert.ok(outcomes.rejected > 0, 'some inputs should be rejected');
  });

  it('rejects errors with a line number', async () => {
    const next = random(7);
    let withLine = 0;
    let rejected = 0;
    for (let i = 0; i < 200; i++) {
      try {
        await parsePolicy('fuzz', mutate(HCL_POLICY, next));
      } catch (err) {
        assert.ok(err instanceof BadRequestError);
        rejected++;
        if (/, line \d+:/.test(err.message)) withLine++;
      }
    }
    assert.equal(withLine, rejected);
  });
});
