// What only the embedded store does: pruning stale single-sighting tokens itself, and its read cache.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';
import { TokenCountCache } from '../../src/store/embedded/token-cache.ts';
import type { BayesStore } from '../../src/store/types.ts';

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

// The read cache follows this store's own writes in place and is dropped when another connection commits:
// whatever it holds, a store opened fresh on the same file must read the same.
describe('embedded bayes read cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cache-'));
  const store = new EmbeddedStore(dir, { tokenTtlDays: 30 });
  afterAll(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });

  // Negative ids and ids past 2^32 exercise both 32-bit halves of the cache's key.
  const tokens = ids(1n, -7n, 2n ** 40n + 3n, 9n, -(2n ** 50n), 12n);
  const read = async (bayes: BayesStore, list = tokens) => {
    const c = await bayes.counts(list);
    return { spam: [...c.spam], ham: [...c.ham], learnedSpam: c.learnedSpam, learnedHam: c.learnedHam };
  };
  const fresh = async (list = tokens) => {
    const other = new EmbeddedStore(dir, { tokenTtlDays: 30 });
    try { return await read(other.bayes, list); } finally { await other.close(); }
  };
  const cacheSize = () => (store.bayes as unknown as { cache: TokenCountCache }).cache.size;

  it('reads after its own learns what a fresh store reads, with the cache kept warm', async () => {
    const now = Date.now();
    await read(store.bayes);
    await store.bayes.learn('a', ids(1n, -7n, 2n ** 40n + 3n), 'spam', now);
    expect(cacheSize()).toBe(tokens.length);
    expect(await read(store.bayes)).toEqual(await fresh());
    // Relearned as the other class: its counts move.
    await store.bayes.learn('a', ids(1n, -7n, 2n ** 40n + 3n), 'ham', now);
    expect(await read(store.bayes)).toEqual(await fresh());
    // A batch sharing tokens, with a digest that flips class within the batch, and one learned again unchanged.
    await store.bayes.learnMany([
      { digest: 'b', ids: ids(1n, 9n, -(2n ** 50n)), as: 'spam' },
      { digest: 'c', ids: ids(1n, 9n, 12n), as: 'spam' },
      { digest: 'b', ids: ids(1n, 9n, -(2n ** 50n)), as: 'ham' },
      { digest: 'a', ids: ids(1n, -7n, 2n ** 40n + 3n), as: 'ham' },
    ], now);
    expect(cacheSize()).toBe(tokens.length);
    const after = await read(store.bayes);
    expect(after).toEqual(await fresh());
    expect(after).toEqual({ spam: [1, 0, 0, 1, 0, 1], ham: [2, 1, 1, 1, 1, 0], learnedSpam: 1, learnedHam: 2 });
  });

  it('reads after pruning what a fresh store reads', async () => {
    const now = Date.now();
    const list = ids(...tokens, 20n, 21n);
    await store.bayes.learn('old', ids(12n, 20n, 21n), 'spam', now - 40 * DAY);
    const before = await read(store.bayes, list);
    expect(before.spam.slice(-2)).toEqual([1, 1]);
    expect(await store.bayes.prune(now - 30 * DAY)).toBe(2);
    const after = await read(store.bayes, list);
    expect(after.spam.slice(-2)).toEqual([0, 0]);
    expect(after).toEqual(await fresh(list));
  });

  it('sees a write committed through another store on the same file', async () => {
    await read(store.bayes);
    const other = new EmbeddedStore(dir, { tokenTtlDays: 30 });
    try {
      await other.bayes.learn('elsewhere', ids(9n, 12n), 'spam');
      // The fresh store's learn also moves its own cached counts: both must agree with the file.
      const theirs = await read(other.bayes);
      expect(await read(store.bayes)).toEqual(theirs);
      await store.bayes.learn('here', ids(9n, 1n), 'ham');
      expect(await read(other.bayes)).toEqual(await read(store.bayes));
    } finally {
      await other.close();
    }
    expect(await read(store.bayes)).toEqual(await fresh());
  });
});

describe('TokenCountCache', () => {
  it('moves a cached token’s counts, never below 0, and leaves an uncached token uncached', () => {
    const cache = new TokenCountCache(16);
    cache.set(5, 1, 2, 0);
    cache.add(5, 1, -3, 4);
    const slot = cache.find(5, 1);
    expect([cache.spamAt(slot), cache.hamAt(slot)]).toEqual([0, 4]);
    cache.add(6, 1, 1, 1);
    expect(cache.find(6, 1)).toBe(-1);
    expect(cache.size).toBe(1);
  });

  it('starts small, doubles as it fills keeping every entry, and empties itself only at its maximum', () => {
    const max = 2 ** 16;
    const cache = new TokenCountCache(max);
    expect(cache.capacity).toBe(2 ** 14);
    // Ids whose low halves collide in the small table and part in the bigger ones.
    const id = (i: number) => [(i * 0x9e3779b1) >>> 0, i] as const;
    const held = Math.floor(max * 0.7);
    for (let i = 0; i < held; i++) cache.set(...id(i), i, i + 1);
    expect(cache.capacity).toBe(max);
    expect(cache.size).toBe(held);
    for (let i = 0; i < held; i++) {
      const slot = cache.find(...id(i));
      expect(slot).toBeGreaterThanOrEqual(0);
      if (cache.spamAt(slot) !== i || cache.hamAt(slot) !== i + 1) throw new Error(`token ${i} lost its counts`);
    }
    cache.set(...id(held), 1, 1);
    expect([cache.capacity, cache.size]).toEqual([max, 1]);
  });
});
