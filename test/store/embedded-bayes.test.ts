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
  // Kept warm: this store's own learns move the cache instead of dropping it.
  const warm = () => (store.bayes as unknown as { complete: boolean }).complete;

  it('reads after its own learns what a fresh store reads, with the cache kept warm', async () => {
    const now = Date.now();
    await read(store.bayes);
    await store.bayes.learn('a', ids(1n, -7n, 2n ** 40n + 3n), 'spam', now);
    expect(warm()).toBe(true);
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
    expect(warm()).toBe(true);
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

// A table that fits the cache is read whole once looking tokens up one by one has read as many as it
// has rows: tokens it does not hold are then known to be absent, and nothing is read from the file for
// them. What it answers must still be what the file holds.
describe('embedded bayes complete cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-complete-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const open = (cacheSlots?: number) => new EmbeddedStore(dir, { tokenTtlDays: 30, bayesCacheSlots: cacheSlots });
  const complete = (store: EmbeddedStore) => (store.bayes as unknown as { complete: boolean }).complete;
  const read = async (store: EmbeddedStore, list: BigInt64Array) => {
    const c = await store.bayes.counts(list);
    return { spam: [...c.spam], ham: [...c.ham] };
  };
  const list = ids(1n, -7n, 2n ** 40n + 3n, -(2n ** 50n), 99n, 2n ** 62n);

  it('reads the table whole only after looking up as many tokens as it has rows, then answers from memory', async () => {
    const writer = open();
    await writer.bayes.learn('a', ids(1n, -7n, 2n ** 40n + 3n), 'spam');
    await writer.bayes.learn('b', ids(1n, -(2n ** 50n)), 'ham');
    await writer.bayes.learn('c', ids(500n, 501n, 502n, 503n), 'ham');
    await writer.close();

    const store = open();
    try {
      // 8 rows: a look-up of 3 tokens (a one-message check) does not read them all.
      expect(await read(store, ids(1n, 99n, 2n ** 62n))).toEqual({ spam: [1, 0, 0], ham: [1, 0, 0] });
      expect(complete(store)).toBe(false);
      // Tokens its partial cache holds already are not looked up again: 3 more here.
      expect(await read(store, list)).toEqual({ spam: [1, 1, 1, 0, 0, 0], ham: [1, 0, 0, 1, 0, 0] });
      expect(complete(store)).toBe(false);
      expect(await read(store, ids(500n, 700n, 701n))).toEqual({ spam: [0, 0, 0], ham: [1, 0, 0] });
      // 9 tokens looked up one by one by now, more than the table's 8 rows.
      expect(await read(store, list)).toEqual({ spam: [1, 1, 1, 0, 0, 0], ham: [1, 0, 0, 1, 0, 0] });
      expect(complete(store)).toBe(true);
      // Tokens new to the table are added to the cache by its own learns: still complete, still right.
      await store.bayes.learn('d', ids(99n, 2n ** 62n, 1n), 'spam');
      expect(complete(store)).toBe(true);
      const after = await read(store, list);
      expect(after).toEqual({ spam: [2, 1, 1, 0, 1, 1], ham: [1, 0, 0, 1, 0, 0] });
      const other = open();
      try { expect(await read(other, list)).toEqual(after); } finally { await other.close(); }
    } finally {
      await store.close();
    }
  });

  const warmUp = async (store: EmbeddedStore) => {
    // More distinct tokens than the table has rows, looked up one by one.
    await read(store, BigInt64Array.from({ length: 200 }, (_, i) => BigInt(90_000 + i)));
    await read(store, list);
  };

  it('stays a partial cache, reading the file, when the table does not fit', async () => {
    // 16 slots hold 11 tokens; the table has more.
    const writer = open();
    await writer.bayes.learn('many', BigInt64Array.from({ length: 20 }, (_, i) => BigInt(1000 + i)), 'spam');
    await writer.close();
    const store = open(16);
    try {
      await warmUp(store);
      const wanted = ids(1000n, 1019n, 5n, 1n);
      expect(await read(store, wanted)).toEqual({ spam: [1, 1, 0, 2], ham: [0, 0, 0, 1] });
      expect(complete(store)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('stops being complete when its own learns would overfill it, and still answers right', async () => {
    const store = open(64); // 44 tokens fit; the file holds 30 by now
    try {
      await warmUp(store);
      expect(complete(store)).toBe(true);
      const batch = BigInt64Array.from({ length: 30 }, (_, i) => BigInt(5000 + i));
      await store.bayes.learn('overfill', batch, 'ham');
      expect(complete(store)).toBe(false);
      expect(await read(store, ids(5000n, 5029n, 1n, 77n))).toEqual({ spam: [0, 0, 2, 0], ham: [1, 1, 1, 0] });
    } finally {
      await store.close();
    }
  });

  it('after another connection commits, reads the file instead of reloading at once', async () => {
    const store = open();
    try {
      await warmUp(store);
      expect(complete(store)).toBe(true);
      const other = open();
      try { await other.bayes.learn('elsewhere', ids(424242n), 'spam'); } finally { await other.close(); }
      await warmUp(store);
      expect(await read(store, ids(424242n, 1n))).toEqual({ spam: [1, 2], ham: [0, 1] });
      expect(complete(store)).toBe(false);
    } finally {
      await store.close();
    }
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
