import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addKvPrefix, joinPath, kvApiPath } from '../../src/cli/commands/kv-paths.js';

describe('addKvPrefix', () => {
  const cases: Array<[string, string, string, string]> = [
    ['secret/foo', 'secret/', 'data', 'secret/data/foo'],
    ['secret/a/b/c', 'secret/', 'metadata', 'secret/metadata/a/b/c'],
    ['secret', 'secret/', 'metadata', 'secret/metadata'],
    ['secret/', 'secret/', 'metadata', 'secret/metadata'],
    ['/secret/foo/', 'secret/', 'data', 'secret/data/foo'],
    ['team/kv/app', 'team/kv/', 'delete', 'team/kv/delete/app'],
    ['secret/data/foo', 'secret/', 'data', 'secret/data/data/foo'],
    ['secretive/foo', 'secret/', 'data', 'secret/data/secretive/foo'],
  ];
  for (const [path, mount, segment, expected] of cases) {
    it(`maps ${path} in ${mount} to ${expected}`, () => assert.equal(addKvPrefix(path, mount, segment), expected));
  }
});

describe('joinPath', () => {
  it('drops empty parts and outer slashes', () => assert.equal(joinPath('secret/', '/a//b/', ''), 'secret/a/b'));
});

describe('kvApiPath', () => {
  it('keeps the path on version 1', () => {
    const target = { mount: { mountPath: 'kv/', version: 1 as const }, fullPath: 'kv/foo', mountFlagUsed: false };
    assert.equal(kvApiPath(target, 'data'), 'kv/foo');
  });

  it('inserts the segment on version 2', () => {
    const target = { mount: { mountPath: 'secret/', version: 2 as const }, fullPath: 'secret/foo', mountFlagUsed: true };
    assert.equal(kvApiPath(target, 'undelete'), 'secret/undelete/foo');
  });
});
