import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PassThrough, Readable } from 'node:stream';
import { readAll, readHidden, readLine } from '../../src/cli/prompt.js';

describe('readHidden', () => {
  it('reads a line without echo and applies backspace', async () => {
    const input = new PassThrough();
    let echoed = '';
    const pending = readHidden(input, { write: (text: string) => (echoed += text) }, 'Key: ');
    input.write('abc\u007fd\r');
    assert.equal(await pending, 'abd');
    assert.equal(echoed, 'Key: \n');
  });

  it('rejects on Ctrl-C', async () => {
    const input = new PassThrough();
    const pending = readHidden(input, { write: () => true }, 'Key: ');
    input.write('ab\u0003');
    await assert.rejects(pending, /input canceled/);
  });
});

describe('readLine', () => {
  it('returns the first line without its ending', async () => {
    assert.equal(await readLine(Readable.from([Buffer.from('first\r\nsecond\n')])), 'first');
  });

  it('returns text without a newline', async () => {
    assert.equal(await readLine(Readable.from([Buffer.from('only')])), 'only');
  });
});

describe('readAll', () => {
  it('joins chunks', async () => {
    assert.equal(await readAll(Readable.from([Buffer.from('a'), Buffer.from('b')])), 'ab');
  });
});
