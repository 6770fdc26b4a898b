import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/errors.js';
import { type FlagSpec, parseArgs, parseKeyValueArgs, splitKeyValue } from '../../src/cli/flags.js';

const SPECS: FlagSpec[] = [
  { name: 'mount', kind: 'string', help: '' },
  { name: 'orphan', kind: 'bool', help: '' },
  { name: 'cas', kind: 'int', help: '' },
  { name: 'ttl', kind: 'duration', help: '' },
  { name: 'policy', kind: 'list', help: '' },
  { name: 'metadata', kind: 'map', help: '' },
];

describe('parseArgs', () => {
  it('reads -flag=value and -flag value', () => {
    const { flags, args } = parseArgs(['-mount=secret', '-cas', '3', 'foo'], SPECS);
    assert.equal(flags.string('mount'), 'secret');
    assert.equal(flags.int('cas'), 3);
    assert.deepEqual(args, ['foo']);
  });

  it('accepts double dashes', () => {
    const { flags } = parseArgs(['--mount', 'kv'], SPECS);
    assert.equal(flags.string('mount'), 'kv');
  });

  it('does not let a boolean take the next word', () => {
    const { flags, args } = parseArgs(['-orphan', 'secret/foo'], SPECS);
    assert.equal(flags.bool('orphan'), true);
    assert.deepEqual(args, ['secret/foo']);
  });

  it('reads -bool=false', () => {
    const { flags } = parseArgs(['-orphan=false'], SPECS);
    assert.equal(flags.has('orphan'), true);
    assert.equal(flags.bool('orphan'), false);
  });

  it('accepts flags after positional arguments', () => {
    const { flags, args } = parseArgs(['secret/foo', 'a=1', '-mount=kv', 'b=2'], SPECS);
    assert.equal(flags.string('mount'), 'kv');
    assert.deepEqual(args, ['secret/foo', 'a=1', 'b=2']);
  });

  it('keeps a lone dash as an argument', () => {
    const { args } = parseArgs(['name', '-'], SPECS);
    assert.deepEqual(args, ['name', '-']);
  });

  it('stops at a double dash', () => {
    const { flags, args } = parseArgs(['--', '-mount=x'], SPECS);
    assert.equal(flags.has('mount'), false);
    assert.deepEqual(args, ['-mount=x']);
  });

  it('splits and repeats list flags', () => {
    const { flags } = parseArgs(['-policy=a,b', '-policy', 'c'], SPECS);
    assert.deepEqual(flags.list('policy'), ['a', 'b', 'c']);
  });

  it('collects map flags', () => {
    const { flags } = parseArgs(['-metadata=team=ops', '-metadata=env=a=b'], SPECS);
    assert.deepEqual(flags.map('metadata'), { team: 'ops', env: 'a=b' });
  });

  it('keeps a valid duration as written', () => {
    const { flags } = parseArgs(['-ttl=1h30m'], SPECS);
    assert.equal(flags.string('ttl'), '1h30m');
  });

  const badCases: Array<[string, string[], RegExp]> = [
    ['unknown flag', ['-nope'], /flag provided but not defined: -nope/],
    ['missing value', ['-mount'], /flag needs an argument: -mount/],
    ['bad integer', ['-cas=two'], /expected a whole number/],
    ['fractional integer', ['-cas=1.5'], /expected a whole number/],
    ['bad boolean', ['-orphan=maybe'], /invalid boolean value/],
    ['bad duration', ['-ttl=soon'], /invalid -ttl/],
    ['map without key', ['-metadata=novalue'], /expected key=value/],
  ];
  for (const [name, argv, message] of badCases) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseArgs(argv, SPECS), (err: unknown) => err instanceof UsageError && message.test(err.message));
    });
  }
});

describe('parseKeyValueArgs', () => {
  const noFile = async (path: string): Promise<string> => `file:${path}`;
  const noStdin = async (): Promise<string> => 'from-stdin';

  it('reads plain values', async () => {
    assert.deepEqual(await parseKeyValueArgs(['a=1', 'b=x=y'], noFile, noStdin), { a: '1', b: 'x=y' });
  });

  it('reads @file and - values', async () => {
    assert.deepEqual(await parseKeyValueArgs(['cert=@/tmp/c.pem', 'key=-'], noFile, noStdin), {
      cert: 'file:/tmp/c.pem',
      key: 'from-stdin',
    });
  });

  it('keeps an empty value', async () => {
    assert.deepEqual(await parseKeyValueArgs(['a='], noFile, noStdin), { a: '' });
  });

  it('rejects stdin twice', async () => {
    await assert.rejects(parseKeyValueArgs(['a=-', 'b=-'], noFile, noStdin), /only one key/);
  });

  it('rejects an argument without =', async () => {
    await assert.rejects(parseKeyValueArgs(['justakey'], noFile, noStdin), /expected key=value/);
  });

  it('rejects an empty key', () => {
    assert.throws(() => splitKeyValue('=value', 'data'), UsageError);
  });
});
