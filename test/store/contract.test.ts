// One contract, two stores: the embedded (SQLite) and the Redis store must behave the same.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';
import { RedisStore } from '../../src/store/redis/index.ts';
import type { QuarantineEntry, Store } from '../../src/store/types.ts';

interface Backend {
  name: string;
  open(): Promise<Store>;
  cleanup(): void;
}

const dirs: string[] = [];
const backends: Backend[] = [
  {
    name: 'embedded',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
      dirs.push(dir);
      return new EmbeddedStore(dir);
    },
    cleanup() {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  },
  {
    name: 'redis',
    async open() {
      // A prefix of its own, so test files running at the same time never share keys.
      return RedisStore.open({ url: inject('redisUrl'), prefix: `test:${process.pid}:${Math.random().toString(36).slice(2)}:` });
    },
    cleanup() {},
  },
];

const ids = (...values: bigint[]) => BigInt64Array.from(values);
// Ids that differ only above bit 53, and negative ones: they must not collide when stored.
const A = 1n << 60n;
const B = (1n << 60n) + 1n;
const C = -42n;
const D = -(1n << 62n);

function entry(id: string, time: number, extra: Partial<QuarantineEntry> = {}): QuarantineEntry {
  return {
    id, time, clientIp: '192.0.2.1', helo: 'mail.example.org', mailFrom: 'Sender@Example.org', rcptTo: ['user@example.net'],
    subject: `message ${id}`, size: 1234, score: 11, action: 'quarantine', symbols: [{ name: 'BAYES_SPAM', score: 5 }], ...extra,
  };
}

for (const backend of backends) {
  describe(`${backend.name} store`, () => {
    let store: Store;
    beforeAll(async () => { store = await backend.open(); });
    afterAll(async () => { await store.close(); backend.cleanup(); });

    describe('bayes', () => {
      beforeEach(async () => { await store.bayes.reset(); });

      it('knows nothing at first', async () => {
        const counts = await store.bayes.counts(ids(A, B));
        expect([...counts.spam, ...counts.ham]).toEqual([0, 0, 0, 0]);
        expect([counts.learnedSpam, counts.learnedHam]).toEqual([0, 0]);
        expect(await store.bayes.learnedAs('m1')).toBeNull();
      });

      it('counts a learned message once per token, in the order asked', async () => {
        expect(await store.bayes.learn('m1', ids(A, C), 'spam')).toBe('learned');
        expect(await store.bayes.learn('m2', ids(A, B, D), 'ham')).toBe('learned');
        const counts = await store.bayes.counts(ids(D, C, B, A, 7n));
        expect([...counts.spam]).toEqual([0, 1, 0, 1, 0]);
        expect([...counts.ham]).toEqual([1, 0, 1, 1, 0]);
        expect([counts.learnedSpam, counts.learnedHam]).toEqual([1, 1]);
        expect(await store.bayes.learnedAs('m1')).toBe('spam');
      });

      it('does not count a message learned twice twice', async () => {
        await store.bayes.learn('m1', ids(A, B), 'spam');
        expect(await store.bayes.learn('m1', ids(A, B), 'spam')).toBe('unchanged');
        const counts = await store.bayes.counts(ids(A, B));
        expect([...counts.spam]).toEqual([1, 1]);
        expect(counts.learnedSpam).toBe(1);
      });

      it('moves the counts of a message learned again as the other class', async () => {
        await store.bayes.learn('m1', ids(A, B), 'spam');
        await store.bayes.learn('m2', ids(A), 'spam');
        expect(await store.bayes.learn('m1', ids(A, B), 'ham')).toBe('relearned');
        const counts = await store.bayes.counts(ids(A, B));
        expect([...counts.spam]).toEqual([1, 0]);
        expect([...counts.ham]).toEqual([1, 1]);
        expect([counts.learnedSpam, counts.learnedHam]).toEqual([1, 1]);
        expect(await store.bayes.learnedAs('m1')).toBe('ham');
      });

      it('learns a batch as one message at a time would', async () => {
        const outcomes = await store.bayes.learnMany([
          { digest: 'm1', ids: ids(A), as: 'spam' },
          { digest: 'm1', ids: ids(A), as: 'spam' },
          { digest: 'm2', ids: ids(A, B), as: 'ham' },
          { digest: 'm1', ids: ids(A), as: 'ham' },
        ]);
        expect(outcomes).toEqual(['learned', 'unchanged', 'learned', 'relearned']);
        const counts = await store.bayes.counts(ids(A, B));
        expect([...counts.spam]).toEqual([0, 0]);
        expect([...counts.ham]).toEqual([2, 1]);
        expect([counts.learnedSpam, counts.learnedHam]).toEqual([0, 2]);
      });

      it('reports learned counts and tokens', async () => {
        await store.bayes.learn('m1', ids(A, B, C), 'spam');
        await store.bayes.learn('m2', ids(C, D), 'ham');
        const stats = await store.bayes.stats();
        expect(stats).toMatchObject({ learnedSpam: 1, learnedHam: 1, tokens: 4 });
        expect(stats.bytes).toBeGreaterThan(0);
      });

      it('forgets everything on reset', async () => {
        await store.bayes.learn('m1', ids(A), 'spam');
        await store.bayes.reset();
        expect((await store.bayes.counts(ids(A))).spam[0]).toBe(0);
        expect(await store.bayes.learnedAs('m1')).toBeNull();
        expect((await store.bayes.stats()).tokens).toBe(0);
      });
    });

    describe('quarantine index', () => {
      beforeAll(async () => {
        await store.quarantine.add(entry('q1', 1000));
        await store.quarantine.add(entry('q2', 2000, { mailFrom: 'other@example.com', score: 20, symbols: [{ name: 'GTUBE', score: 1000 }] }));
        await store.quarantine.add(entry('q3', 3000, { rcptTo: ['a@example.net', 'b@example.net'] }));
        await store.quarantine.add(entry('q4', 4000));
      });

      it('gets an entry back as stored', async () => {
        expect(await store.quarantine.get('q2')).toEqual(entry('q2', 2000, { mailFrom: 'other@example.com', score: 20, symbols: [{ name: 'GTUBE', score: 1000 }] }));
        expect(await store.quarantine.get('nope')).toBeNull();
      });

      it('lists newest first, with the total and paging', async () => {
        const page = await store.quarantine.list({ limit: 2, offset: 1 });
        expect(page.total).toBe(4);
        expect(page.entries.map((e) => e.id)).toEqual(['q3', 'q2']);
      });

      it('filters by time, sender, recipient, symbol and score', async () => {
        const ids = async (q: Parameters<Store['quarantine']['list']>[0]) => (await store.quarantine.list(q)).entries.map((e) => e.id);
        expect(await ids({ limit: 10, since: 2000, until: 4000 })).toEqual(['q3', 'q2']);
        expect(await ids({ limit: 10, sender: 'OTHER@example.com' })).toEqual(['q2']);
        expect(await ids({ limit: 10, recipient: 'b@example.net' })).toEqual(['q3']);
        expect(await ids({ limit: 10, symbol: 'GTUBE' })).toEqual(['q2']);
        expect(await ids({ limit: 10, minScore: 15 })).toEqual(['q2']);
        expect((await store.quarantine.list({ limit: 1, symbol: 'BAYES_SPAM' })).total).toBe(3);
      });

      it('finds old entries oldest first and removes them', async () => {
        expect(await store.quarantine.olderThan(3000, 10)).toEqual(['q1', 'q2']);
        expect(await store.quarantine.olderThan(5000, 1)).toEqual(['q1']);
        expect(await store.quarantine.remove('q1')).toBe(true);
        expect(await store.quarantine.remove('q1')).toBe(false);
        expect(await store.quarantine.get('q1')).toBeNull();
        expect((await store.quarantine.list({ limit: 10 })).total).toBe(3);
      });
    });
  });
}
