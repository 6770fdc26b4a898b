import assert from 'node:assert/strict';
import { it } from 'node:test';
import { InmemPhysical } from '../../src/storage/inmem.js';
import { describePhysicalContract } from './physical-contract.js';

describePhysicalContract('inmem', async () => new InmemPhysical());

it('inmem rejects use after close', async () => {
  const store = new InmemPhysical();
  await store.close();
  await assert.rejects(store.get('k'), /closed/);
});
