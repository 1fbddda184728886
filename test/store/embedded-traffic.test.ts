// What only the embedded store does for traffic control: expired rows are pruned as it writes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'sluice-embedded-traffic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('prunes expired greylisting and rate-limit rows as it writes', async () => {
  const store = new EmbeddedStore(dir);
  const count = (table: string) => Number((store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
  const T0 = Date.UTC(2026, 11, 1);
  const DAY = 86_400_000;
  const policy = { delayMs: 300_000, windowMs: DAY, expiryMs: 36 * DAY, autoWhitelistAfter: 1 };
  const triplet = { client: '192.0.2.0/24', sender: 'a@x.example', recipient: 'b@y.example' };
  await store.greylist.sight(triplet, T0, policy);
  await store.greylist.sight({ ...triplet, recipient: 'c@y.example' }, T0, policy);
  await store.greylist.sight(triplet, T0 + 300_000, policy);
  await store.ratelimit.take('ip:192.0.2.1 10/1h', T0, { intervalMs: 360_000, burst: 10 });
  expect([count('greylist_triplet'), count('greylist_client'), count('ratelimit')]).toEqual([2, 1, 1]);
  // Two days on: the waiting triplet and the full bucket are gone, the passed triplet and its client stay.
  await store.ratelimit.take('ip:192.0.2.2 10/1h', T0 + 2 * DAY, { intervalMs: 360_000, burst: 10 });
  await store.greylist.sight({ ...triplet, client: '198.51.100.0/24' }, T0 + 2 * DAY, policy);
  expect([count('greylist_triplet'), count('greylist_client'), count('ratelimit')]).toEqual([2, 1, 1]);
  // Past the expiry: only what was just written is left.
  await store.greylist.sight({ ...triplet, client: '203.0.113.0/24' }, T0 + 40 * DAY, policy);
  expect([count('greylist_triplet'), count('greylist_client')]).toEqual([1, 0]);
  await store.close();
});
