import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextCronTime, parseCron } from '../../../src/engines/database/cron.js';

const at = (iso: string) => Date.parse(iso);

test('cron next minute and hour', () => {
  assert.equal(nextCronTime(parseCron('* * * * *'), at('2024-05-01T10:00:30Z')), at('2024-05-01T10:01:00Z'));
  assert.equal(nextCronTime(parseCron('0 * * * *'), at('2024-05-01T10:00:00Z')), at('2024-05-01T11:00:00Z'));
  assert.equal(nextCronTime(parseCron('*/15 9-17 * * *'), at('2024-05-01T17:50:00Z')), at('2024-05-02T09:00:00Z'));
});

test('cron days, months and names', () => {
  assert.equal(nextCronTime(parseCron('0 0 * * sun'), at('2024-05-01T00:00:00Z')), at('2024-05-05T00:00:00Z'));
  assert.equal(nextCronTime(parseCron('30 2 29 feb *'), at('2024-03-01T00:00:00Z')), at('2028-02-29T02:30:00Z'));
  assert.equal(nextCronTime(parseCron('@monthly'), at('2024-05-15T00:00:00Z')), at('2024-06-01T00:00:00Z'));
  // With both day fields restricted, either one matches, as in cron.
  assert.equal(nextCronTime(parseCron('0 0 10 * 1'), at('2024-05-01T00:00:00Z')), at('2024-05-06T00:00:00Z'));
});

test('cron rejects bad expressions', () => {
  for (const expression of ['* * * *', '60 * * * *', '* * 31 2 *', '5-1 * * * *', 'x * * * *', '*/0 * * * *']) {
    assert.throws(() => parseCron(expression), /invalid rotation_schedule/, expression);
  }
});
