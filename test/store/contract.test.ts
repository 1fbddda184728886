// One contract, two stores: the embedded (SQLite) and the Redis store must behave the same.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { Quarantine } from '../../src/quarantine/quarantine.ts';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';
import { RedisStore } from '../../src/store/redis/index.ts';
import type { QuarantineEntry, QuarantineQuery, Store } from '../../src/store/types.ts';

interface Backend {
  name: string;
  open(): Promise<Store>;
  cleanup(): void;
  /** Quarantine keys left in the store besides those of `ids` (Redis: index entries of removed entries). */
  leftovers(store: Store): Promise<string[]>;
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
    // One table: a removed row takes its index entries with it.
    async leftovers() {
      return [];
    },
  },
  {
    name: 'redis',
    async open() {
      // A prefix of its own, so test files running at the same time never share keys.
      return RedisStore.open({ url: inject('redisUrl'), prefix: `test:${process.pid}:${Math.random().toString(36).slice(2)}:` });
    },
    cleanup() {},
    // Every index member must be an entry that has that sender, recipient, symbol (no orphans, nothing
    // stale from a replaced version), and every entry in the time index.
    async leftovers(store) {
      const { client, keys } = store as RedisStore;
      const found: string[] = [];
      for (const key of await client.keys(keys.quarantinePattern)) {
        if (key === keys.quarantineIndexed || key.startsWith(keys.quarantineClaim(''))) continue;
        // A held message's bytes belong to an entry in the index.
        if (key.startsWith(keys.quarantineRaw(''))) {
          if ((await client.zscore(keys.quarantineByTime, key.slice(keys.quarantineRaw('').length))) === null) found.push(`${key} without entry`);
          continue;
        }
        if (key.startsWith(keys.quarantineEntry(''))) {
          if ((await client.zscore(keys.quarantineByTime, key.slice(keys.quarantineEntry('').length))) === null) found.push(`${key} unindexed`);
          continue;
        }
        for (const id of await client.zrange(key, '0', '-1')) {
          const json = await client.get(keys.quarantineEntry(id));
          const e = json ? (JSON.parse(json) as QuarantineEntry) : null;
          const own = e && [
            keys.quarantineByTime, keys.quarantineByScore, keys.quarantineBySender(e.mailFrom),
            ...e.rcptTo.map((r) => keys.quarantineByRecipient(r)), ...e.symbols.map((sym) => keys.quarantineBySymbol(sym.name)),
          ];
          if (!own?.includes(key)) found.push(`${key} ${id}`);
        }
      }
      return found;
    },
  },
];

const ids = (...values: bigint[]) => BigInt64Array.from(values);
const silent = pino({ level: 'silent' });
/** The quarantine as the gateway builds it over a store (app.ts): files under `dir` unless the store keeps the bytes. */
const quarantineOver = (store: Store, dir: string) => new Quarantine(dir, 30, store.quarantine, silent, store.quarantineMessages);
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

    describe('write probe', () => {
      it('writes, reads back and deletes, leaving what the gateway reads as it was', async () => {
        const before = [await store.quarantine.list({ limit: 0 }), await store.bayes.stats()];
        await store.probe();
        await store.probe();
        expect([await store.quarantine.list({ limit: 0 }), await store.bayes.stats()]).toEqual(before);
      });

      it('throws when the store cannot be written', async () => {
        const closed = await backend.open();
        await closed.close();
        await expect(closed.probe()).rejects.toThrow();
      });
    });

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

      it('reads a message of many tokens, and none', async () => {
        // More tokens than one read command takes, from the middle of a larger array.
        const all = BigInt64Array.from({ length: 1203 }, (_, i) => BigInt(i) * 0x9e3779b97f4a7c15n - (1n << 62n));
        const many = all.subarray(1, 1202);
        await store.bayes.learn('m1', many.filter((_, i) => i % 2 === 0), 'spam');
        await store.bayes.learn('m2', many.filter((_, i) => i % 3 === 0), 'ham');
        const counts = await store.bayes.counts(many);
        expect([...counts.spam]).toEqual(Array.from(many, (_, i) => (i % 2 === 0 ? 1 : 0)));
        expect([...counts.ham]).toEqual(Array.from(many, (_, i) => (i % 3 === 0 ? 1 : 0)));
        const none = await store.bayes.counts(ids());
        expect([none.spam.length, none.learnedSpam, none.learnedHam]).toEqual([0, 1, 1]);
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

    describe('held messages', () => {
      const dir = mkdtempSync(join(tmpdir(), 'sluice-held-'));
      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('keeps the bytes of a held message as they were, a large binary one too, and removes them with it', async () => {
        const quarantine = quarantineOver(store, dir);
        // About 2.7 of the Redis store's pieces (just under 512 KiB), every byte value.
        const large = Buffer.from(Array.from({ length: 1_400_001 }, (_, i) => (i * 131 + (i >> 9)) & 255));
        const small = Buffer.from('Subject: held\r\n\r\nbody\r\n');
        const [a, b, c] = ['0000000000H0001', '0000000000H0002', '0000000000H0003'];
        await quarantine.hold(entry(a, 10, { size: large.length }), large);
        await quarantine.hold(entry(b, 11), small);
        await quarantine.hold(entry(c, 12), Buffer.alloc(0));
        expect((await quarantine.get(a))!.raw.equals(large)).toBe(true);
        expect((await quarantine.get(b))!.raw.toString()).toBe(small.toString());
        expect((await quarantine.get(c))!.raw.length).toBe(0);
        expect((await quarantine.get(b))!.entry).toEqual(entry(b, 11));
        for (const id of [a, b, c]) expect(await quarantine.delete(id)).toBe(true);
        for (const id of [a, b, c]) expect(await quarantine.get(id)).toBeNull();
        expect(await quarantine.delete(a)).toBe(false);
        expect(await backend.leftovers(store)).toEqual([]);
      });

      it('gives the claim to release a message to one caller at a time, until it is given back or expires', async () => {
        const id = '0000000000C0001';
        const takes = await Promise.all(Array.from({ length: 5 }, (_, i) => store.quarantine.claim(id, `h${i}`, 60_000)));
        expect(takes.filter(Boolean)).toHaveLength(1);
        const winner = `h${takes.indexOf(true)}`;
        await store.quarantine.unclaim(id, 'someone else');
        expect(await store.quarantine.claim(id, 'late', 60_000)).toBe(false);
        await store.quarantine.unclaim(id, winner);
        expect(await store.quarantine.claim(id, 'late', 50)).toBe(true);
        await new Promise((r) => setTimeout(r, 120));
        expect(await store.quarantine.claim(id, 'after expiry', 60_000)).toBe(true);
        await store.quarantine.unclaim(id, 'after expiry');
      });
    });

    describe('quarantine filters', () => {
      // A store of its own: these tests remove entries and check what is left.
      let own: Store;
      const all = sample();
      beforeAll(async () => {
        own = await backend.open();
        for (const e of all) await own.quarantine.add(e);
      });
      afterAll(async () => { await own.close(); });

      it('answers every filter and combination like a scan of all entries, with exact totals and paging', async () => {
        // Redis: each query through the client-side checks only, the server-side intersection only, and as chosen.
        const variants = backend.name === 'redis' ? [Infinity, 0, 2000] : [undefined];
        for (const serverSideAbove of variants) {
          if (serverSideAbove !== undefined) (own as RedisStore).quarantine.serverSideAbove = serverSideAbove;
          for (const query of queries()) {
            const want = reference(all, query);
            const got = await own.quarantine.list(query);
            expect({ serverSideAbove, query, total: got.total, ids: got.entries.map((e) => e.id) }).toEqual({ serverSideAbove, query, ...want });
          }
        }
      });

      it('pages through a filter without gaps or repeats', async () => {
        for (const filter of [{ symbol: 'SPF_FAIL' }, { minScore: 8 }, { symbol: 'RDNS_NONE', minScore: 6 }, { recipient: 'u1@example.net', since: 50_000 }]) {
          const seen: string[] = [];
          let total = -1;
          for (let offset = 0; ; offset += 7) {
            const page = await own.quarantine.list({ ...filter, limit: 7, offset });
            total = page.total;
            if (!page.entries.length) break;
            seen.push(...page.entries.map((e) => e.id));
          }
          expect(seen).toEqual(reference(all, { ...filter, limit: 1000 }).ids);
          expect(seen.length).toBe(total);
        }
      });

      it('treats empty filters as none and matches sender and recipient in any case', async () => {
        expect((await own.quarantine.list({ limit: 1, sender: '', recipient: '', symbol: '' })).total).toBe(all.length);
        const upper = await own.quarantine.list({ limit: 100, sender: 'S3@SPAM.EXAMPLE', recipient: 'U2@Example.NET' });
        expect(upper.entries.map((e) => e.id)).toEqual(reference(all, { limit: 100, sender: 's3@spam.example', recipient: 'u2@example.net' }).ids);
        expect(upper.total).toBeGreaterThan(0);
        expect((await own.quarantine.list({ limit: 1, symbol: 'spf_fail' })).total).toBe(0);
        expect((await own.quarantine.list({ limit: 1, sender: 'nobody@example.org' })).total).toBe(0);
      });

      it('moves a replaced entry to its new sender, recipients, symbols and score', async () => {
        const before = all[10];
        const after = { ...before, mailFrom: 'moved@example.org', rcptTo: ['new@example.net'], symbols: [{ name: 'MOVED', score: 1 }], score: 1 };
        await own.quarantine.add(after);
        const list = (q: Omit<QuarantineQuery, 'limit'>) => own.quarantine.list({ limit: 1000, ...q });
        expect((await list({ sender: 'moved@example.org' })).entries.map((e) => e.id)).toEqual([before.id]);
        expect((await list({ symbol: 'MOVED', recipient: 'new@example.net' })).total).toBe(1);
        expect((await list({ sender: before.mailFrom })).entries.map((e) => e.id)).not.toContain(before.id);
        expect((await list({ minScore: before.score })).entries.map((e) => e.id)).not.toContain(before.id);
        for (const s of before.symbols) expect((await list({ symbol: s.name })).entries.map((e) => e.id)).not.toContain(before.id);
        expect(await backend.leftovers(own)).toEqual([]);
        await own.quarantine.add(before);
        expect((await list({ sender: 'moved@example.org' })).total).toBe(0);
        expect(await backend.leftovers(own)).toEqual([]);
      });

      it('leaves no index entries behind after removal and purge', async () => {
        const removed = all.filter((_, i) => i % 5 === 0);
        for (const e of removed) expect(await own.quarantine.remove(e.id)).toBe(true);
        const rest = all.filter((_, i) => i % 5 !== 0);
        expect(await backend.leftovers(own)).toEqual([]);
        for (const query of queries().slice(0, 40)) {
          const got = await own.quarantine.list(query);
          expect({ query, total: got.total, ids: got.entries.map((e) => e.id) }).toEqual({ query, ...reference(rest, query) });
        }

        // The purge path: everything older than the retention goes through olderThan and remove.
        const dir = mkdtempSync(join(tmpdir(), 'sluice-purge-'));
        try {
          const quarantine = new Quarantine(dir, 1, own.quarantine, pino({ level: 'silent' }));
          expect(await quarantine.purge(86_400_000 + 60_000)).toBe(rest.filter((e) => e.time < 60_000).length);
          const kept = rest.filter((e) => e.time >= 60_000);
          expect(await backend.leftovers(own)).toEqual([]);
          expect((await own.quarantine.list({ limit: 1, symbol: 'SPF_FAIL' })).total).toBe(reference(kept, { limit: 1, symbol: 'SPF_FAIL' }).total);
          expect(await quarantine.purge(86_400_000 + 1_000_000)).toBe(kept.length);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        expect((await own.quarantine.list({ limit: 1 })).total).toBe(0);
        expect((await own.quarantine.list({ limit: 1, minScore: -100 })).total).toBe(0);
        expect(await backend.leftovers(own)).toEqual([]);
      });
    });

    describe('greylist', () => {
      // Time is the caller's: both stores judge expiry by `now`, so a test moves it forward at will.
      const MIN = 60_000;
      const policy = { delayMs: 5 * MIN, windowMs: 24 * 60 * MIN, expiryMs: 36 * 24 * 60 * MIN, autoWhitelistAfter: 3 };
      const T0 = Date.UTC(2026, 11, 1);
      let n = 0;
      // Each test its own client, so the tests share one store without meeting.
      const client = () => `198.51.${++n}.0/24`;
      const triplet = (c: string, rcpt = 'user@example.net') => ({ client: c, sender: 'news@list.example', recipient: rcpt });

      it('greylists a new triplet, refuses an early retry, passes one in the window and then knows it', async () => {
        const t = triplet(client());
        expect(await store.greylist.sight(t, T0, policy)).toEqual({ state: 'new', firstSeen: T0 });
        expect(await store.greylist.sight(t, T0 + 4 * MIN, policy)).toEqual({ state: 'early', firstSeen: T0 });
        expect(await store.greylist.sight(t, T0 + 5 * MIN, policy)).toEqual({ state: 'passed', firstSeen: T0 });
        expect(await store.greylist.sight(t, T0 + 6 * MIN, policy)).toEqual({ state: 'known', firstSeen: T0 });
        // Each use refreshes the expiry: 30 days after the last use it is still known.
        expect(await store.greylist.sight(t, T0 + 30 * 24 * 60 * MIN, policy)).toEqual({ state: 'known', firstSeen: T0 });
        expect(await store.greylist.sight(t, T0 + 60 * 24 * 60 * MIN, policy)).toEqual({ state: 'known', firstSeen: T0 });
        // Unused past the expiry, it is new again.
        const later = T0 + 97 * 24 * 60 * MIN;
        expect(await store.greylist.sight(t, later, policy)).toEqual({ state: 'new', firstSeen: later });
      });

      it('starts again when the retry comes after the window', async () => {
        const t = triplet(client());
        await store.greylist.sight(t, T0, policy);
        const late = T0 + 25 * 60 * MIN;
        expect(await store.greylist.sight(t, late, policy)).toEqual({ state: 'new', firstSeen: late });
        expect(await store.greylist.sight(t, late + 5 * MIN, policy)).toEqual({ state: 'passed', firstSeen: late });
      });

      it('keeps triplets apart by client, sender and recipient', async () => {
        const c = client();
        await store.greylist.sight(triplet(c), T0, policy);
        expect((await store.greylist.sight(triplet(c, 'other@example.net'), T0 + 5 * MIN, policy)).state).toBe('new');
        expect((await store.greylist.sight({ ...triplet(c), sender: 'else@list.example' }, T0 + 5 * MIN, policy)).state).toBe('new');
        expect((await store.greylist.sight(triplet(client()), T0 + 5 * MIN, policy)).state).toBe('new');
      });

      it('whitelists a client after N passed triplets, until it goes unused past the expiry', async () => {
        const c = client();
        const outcomes = [];
        for (let i = 0; i < 3; i++) {
          await store.greylist.sight(triplet(c, `u${i}@example.net`), T0, policy);
          outcomes.push(await store.greylist.sight(triplet(c, `u${i}@example.net`), T0 + 5 * MIN, policy));
        }
        expect(outcomes.map((o) => [o.state, o.autoWhitelisted ?? false])).toEqual([['passed', false], ['passed', false], ['passed', true]]);
        expect(await store.greylist.sight(triplet(c, 'new@example.net'), T0 + 6 * MIN, policy)).toEqual({ state: 'whitelisted', firstSeen: 0 });
        const gone = T0 + 40 * 24 * 60 * MIN;
        expect((await store.greylist.sight(triplet(c, 'new@example.net'), gone, policy)).state).toBe('new');
      });

      it('never whitelists a client when the threshold is 0', async () => {
        const c = client();
        for (let i = 0; i < 5; i++) {
          await store.greylist.sight(triplet(c, `u${i}@example.net`), T0, { ...policy, autoWhitelistAfter: 0 });
          await store.greylist.sight(triplet(c, `u${i}@example.net`), T0 + 5 * MIN, { ...policy, autoWhitelistAfter: 0 });
        }
        expect((await store.greylist.sight(triplet(c, 'x@example.net'), T0 + 6 * MIN, policy)).state).toBe('new');
      });

      it('lists, allows and drops clients with their triplets', async () => {
        const c = client();
        const allowed = client();
        await store.greylist.sight(triplet(c), T0, policy);
        await store.greylist.sight(triplet(c), T0 + 5 * MIN, policy);
        await store.greylist.sight(triplet(c, 'b@example.net'), T0 + 5 * MIN, policy);
        await store.greylist.allow(allowed, T0, policy.expiryMs);
        const mine = (await store.greylist.list(T0 + 6 * MIN, 1000)).filter((e) => e.client === c || e.client === allowed);
        const key = (e: { client: string; recipient?: string }) => `${e.client} ${e.recipient ?? ''}`;
        expect(mine.sort((a, b) => key(a).localeCompare(key(b)))).toEqual([
          { client: c, passes: 1, whitelisted: false, expires: T0 + 5 * MIN + policy.expiryMs },
          { client: c, sender: 'news@list.example', recipient: 'b@example.net', firstSeen: T0 + 5 * MIN, expires: T0 + 5 * MIN + policy.windowMs },
          { client: c, sender: 'news@list.example', recipient: 'user@example.net', firstSeen: T0, passedAt: T0 + 5 * MIN, expires: T0 + 5 * MIN + policy.expiryMs },
          { client: allowed, passes: 0, whitelisted: true, expires: T0 + policy.expiryMs },
        ]);
        expect(await store.greylist.sight(triplet(allowed), T0 + MIN, policy)).toEqual({ state: 'whitelisted', firstSeen: 0 });
        expect(await store.greylist.drop(c)).toBe(3);
        expect(await store.greylist.drop(c)).toBe(0);
        expect((await store.greylist.sight(triplet(c), T0 + 7 * MIN, policy)).state).toBe('new');
        expect(await store.greylist.drop(allowed)).toBe(1);
        expect((await store.greylist.sight(triplet(allowed), T0 + 7 * MIN, policy)).state).toBe('new');
      });
    });

    describe('rate limits', () => {
      const T0 = Date.UTC(2026, 11, 1);
      // 10 per minute: one every 6 s, up to 3 at once.
      const rule = { intervalMs: 6000, burst: 3 };
      let n = 0;
      const bucket = () => `sender:${++n}@example.org`;

      it('takes a burst at once, then one per interval', async () => {
        const b = bucket();
        const got = [];
        for (let i = 0; i < 5; i++) got.push(await store.ratelimit.take(b, T0, rule));
        expect(got).toEqual([
          { allowed: true, remaining: 2, retryAfterMs: 0 },
          { allowed: true, remaining: 1, retryAfterMs: 0 },
          { allowed: true, remaining: 0, retryAfterMs: 0 },
          { allowed: false, remaining: 0, retryAfterMs: 6000 },
          { allowed: false, remaining: 0, retryAfterMs: 6000 },
        ]);
        expect((await store.ratelimit.take(b, T0 + 5999, rule)).allowed).toBe(false);
        expect(await store.ratelimit.take(b, T0 + 6000, rule)).toEqual({ allowed: true, remaining: 0, retryAfterMs: 0 });
        expect(await store.ratelimit.take(b, T0 + 6000, rule)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 6000 });
        // Idle for a long time, the bucket is full again, never fuller.
        expect(await store.ratelimit.take(b, T0 + 3_600_000, rule)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
      });

      it('over a steady stream lets through the rate plus one burst', async () => {
        const b = bucket();
        let allowed = 0;
        // One attempt a second from 0 to 60 s: the 10 a minute refills plus the burst of 3 there at the start.
        for (let s = 0; s <= 60; s++) if ((await store.ratelimit.take(b, T0 + s * 1000, rule)).allowed) allowed++;
        expect(allowed).toBe(3 + 10);
      });

      it('takes a rate whose interval is not a whole number of milliseconds (7/1h)', async () => {
        const b = bucket();
        const seventh = { intervalMs: 3_600_000 / 7, burst: 1 };
        expect((await store.ratelimit.take(b, T0, seventh)).allowed).toBe(true);
        expect((await store.ratelimit.take(b, T0 + 514_285, seventh)).allowed).toBe(false);
        expect((await store.ratelimit.take(b, T0 + 514_286, seventh)).allowed).toBe(true);
      });

      it('counts concurrent takes atomically', async () => {
        const b = bucket();
        const got = await Promise.all(Array.from({ length: 20 }, () => store.ratelimit.take(b, T0, rule)));
        expect(got.filter((o) => o.allowed)).toHaveLength(3);
      });

      it('peeks without counting and resets', async () => {
        const b = bucket();
        expect(await store.ratelimit.peek(b, T0)).toBe(0);
        await store.ratelimit.take(b, T0, rule);
        await store.ratelimit.take(b, T0, rule);
        expect(await store.ratelimit.peek(b, T0)).toBe(12_000);
        expect(await store.ratelimit.peek(b, T0 + 3000)).toBe(9000);
        expect(await store.ratelimit.reset(b)).toBe(true);
        expect(await store.ratelimit.reset(b)).toBe(false);
        expect(await store.ratelimit.take(b, T0, rule)).toEqual({ allowed: true, remaining: 2, retryAfterMs: 0 });
      });
    });
  });
}

const SYMBOLS = ['BAYES_SPAM', 'SPF_FAIL', 'RDNS_NONE', 'DMARC_FAIL', 'GTUBE'];

/** 240 entries over 120 s (some sharing a time), 7 senders, 5 recipients, 1–3 symbols, scores from -2 to 19. */
function sample(): QuarantineEntry[] {
  const out: QuarantineEntry[] = [];
  for (let i = 0; i < 240; i++) {
    const names = [...new Set([SYMBOLS[i % 4], SYMBOLS[(i * 3 + 1) % 5], ...(i % 4 ? [] : [SYMBOLS[(i * 7) % 5]])])];
    const symbols = names.map((name, k) => ({ name, score: k ? 2.5 : ((i * 13) % 17) - 2 }));
    // Ids as the gateway makes them (15 characters), which the purge insists on.
    out.push(entry(`0000000000F${String(i).padStart(4, '0')}`, Math.floor(i / 2) * 1000 + (i % 3 ? 0 : 500), {
      mailFrom: i % 11 === 0 ? '' : `${i % 2 ? 's' : 'S'}${i % 7}@spam.example`,
      rcptTo: i % 6 === 0 ? [`u${i % 5}@example.net`, `U${(i + 1) % 5}@example.net`] : [`u${i % 5}@example.net`],
      symbols,
      score: symbols.reduce((sum, s) => sum + s.score, 0),
    }));
  }
  return out;
}

/** Filters alone and combined, with and without a time range, at several offsets. */
function queries(): QuarantineQuery[] {
  const filters: Omit<QuarantineQuery, 'limit'>[] = [
    {}, { sender: 's3@spam.example' }, { recipient: 'u1@example.net' }, { symbol: 'SPF_FAIL' }, { symbol: 'GTUBE' }, { symbol: 'NONE_SUCH' },
    { minScore: 8 }, { minScore: 17 }, { minScore: -2 }, { minScore: 2.5 },
    { sender: 's3@spam.example', symbol: 'SPF_FAIL' }, { recipient: 'u2@example.net', symbol: 'BAYES_SPAM' },
    { sender: 's4@spam.example', recipient: 'u4@example.net' }, { recipient: 'u0@example.net', minScore: 10 },
    { symbol: 'RDNS_NONE', minScore: 6 }, { symbol: 'DMARC_FAIL', minScore: 15 },
    { sender: 's1@spam.example', recipient: 'u1@example.net', symbol: 'BAYES_SPAM', minScore: 0 },
  ];
  const times: Omit<QuarantineQuery, 'limit'>[] = [{}, { since: 30_000 }, { until: 90_500 }, { since: 20_500, until: 80_000 }];
  const out: QuarantineQuery[] = [];
  for (const f of filters) for (const t of times) for (const [offset, limit] of [[0, 10], [5, 3], [0, 0], [40, 50]]) out.push({ ...f, ...t, offset, limit });
  return out;
}

/** What a list must answer: every entry checked, newest first, ties by id descending. */
function reference(entries: QuarantineEntry[], q: QuarantineQuery): { total: number; ids: string[] } {
  const matches = entries
    .filter((e) =>
      (q.since === undefined || e.time >= q.since) && (q.until === undefined || e.time < q.until) &&
      (!q.sender || e.mailFrom.toLowerCase() === q.sender.toLowerCase()) &&
      (!q.recipient || e.rcptTo.some((r) => r.toLowerCase() === q.recipient!.toLowerCase())) &&
      (!q.symbol || e.symbols.some((s) => s.name === q.symbol)) &&
      (q.minScore === undefined || e.score >= q.minScore))
    .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
  const offset = q.offset ?? 0;
  return { total: matches.length, ids: matches.slice(offset, offset + q.limit).map((e) => e.id) };
}
