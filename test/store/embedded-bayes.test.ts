// What only the embedded store does: pruning stale single-sighting tokens itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';

const DAY = 86_400_000;
const ids = (...values: bigint[]) => BigInt64Array.from(values);

describe('embedded bayes pruning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-prune-'));
  const store = new EmbeddedStore(dir, { tokenTtlDays: 30 });
  afterAll(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  it('removes tokens seen once and not since the cut-off, keeps the rest', async () => {
    const now = Date.now();
    await store.bayes.learn('old', ids(1n, 2n), 'spam', now - 40 * DAY);
    await store.bayes.learn('old2', ids(2n), 'ham', now - 40 * DAY);
    expect(await store.bayes.prune(now - 30 * DAY)).toBe(1);
    const counts = await store.bayes.counts(ids(1n, 2n));
    expect([...counts.spam]).toEqual([0, 1]);
    expect([...counts.ham]).toEqual([0, 1]);
  });

  it('prunes by itself while learning, at most daily', async () => {
    const now = Date.now();
    await store.bayes.learn('stale', ids(5n), 'spam', now - 40 * DAY);
    await store.bayes.learn('fresh', ids(6n), 'spam', now);
    const counts = await store.bayes.counts(ids(5n, 6n));
    expect([...counts.spam]).toEqual([0, 1]);
  });
});
