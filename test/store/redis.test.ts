// What only the Redis store does: token expiry, key names, surviving an outage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { RedisStore } from '../../src/store/redis/index.ts';
import { RedisKeys } from '../../src/store/redis/keys.ts';
import { Quarantine } from '../../src/quarantine/quarantine.ts';
import { createRedisClient } from '../../src/store/redis/connect.ts';
import { Pipeline } from '../../src/scan/pipeline.ts';
import { bayesCheck } from '../../src/checks/bayes.ts';
import { bayesSettings } from '../../src/bayes/index.ts';
import { parseConfig } from '../../src/config/load.ts';
import { startRedisServer } from '../helpers/redis-server.ts';
import { inject } from 'vitest';

const ids = (...values: bigint[]) => BigInt64Array.from(values);

describe('redis keys', () => {
  it('puts every key of a family in one Cluster slot with a hash tag, under the prefix', () => {
    const keys = new RedisKeys('pre:');
    for (const key of [keys.bayesLearned, keys.bayesLearnedSpam, keys.bayesLearnedHam, ...keys.bayesTokens(ids(1n, -1n))]) expect(key).toMatch(/^pre:\{bayes\}:/);
    for (const key of [
      keys.quarantineByTime, keys.quarantineByScore, keys.quarantineIndexed, keys.quarantineEntry('abc'),
      keys.quarantineBySender('A@x'), keys.quarantineByRecipient('b@x'), keys.quarantineBySymbol('GTUBE'),
    ]) expect(key).toMatch(/^pre:\{quarantine\}:/);
    expect(keys.quarantineBySender('A@Example.org')).toBe(keys.quarantineBySender('a@example.org'));
    const [one, minusOne] = keys.bayesTokens(ids(1n, -1n));
    expect(one).not.toBe(minusOne);
  });
});

describe('redis traffic-control keys', () => {
  it('share the {greylist} hash tag, give each rate-limit bucket its own, and keep no two triplets in one key', () => {
    const keys = new RedisKeys('pre:');
    for (const key of [keys.greylistTriplet('192.0.2.0/24', 'a@x', 'b@y'), keys.greylistClient('192.0.2.0/24')]) expect(key).toMatch(/^pre:\{greylist\}:/);
    expect(keys.rateLimitBucket('sender:a@x 100/1h')).toBe('pre:ratelimit:{sender:a@x 100/1h}');
    // Without a separator-proof encoding these two would be one key.
    expect(keys.greylistTriplet('c', 'a b', 'c')).not.toBe(keys.greylistTriplet('c', 'a', 'b c'));
  });

  it('put a TTL on every key they write', async () => {
    const store = await RedisStore.open({ url: inject('redisUrl'), prefix: `ttl:${process.pid}:` });
    try {
      const policy = { delayMs: 300_000, windowMs: 86_400_000, expiryMs: 36 * 86_400_000, autoWhitelistAfter: 1 };
      const now = Date.now();
      const t = { client: '192.0.2.0/24', sender: 'a@x.example', recipient: 'b@y.example' };
      await store.greylist.sight(t, now, policy);
      await store.greylist.sight({ ...t, recipient: 'c@y.example' }, now, policy);
      await store.greylist.sight(t, now + 300_000, policy);
      await store.greylist.allow('198.51.100.0/24', now, policy.expiryMs);
      await store.ratelimit.take('ip:192.0.2.1 10/1h', now, { intervalMs: 360_000, burst: 10 });
      const written = (await store.client.keys(`ttl:${process.pid}:*`)).filter((k) => !k.includes('{quarantine}'));
      expect(written).toHaveLength(5);
      for (const key of written) {
        const ttl = await store.client.pttl(key);
        expect({ key, positive: ttl > 0 }).toEqual({ key, positive: true });
      }
      // A waiting triplet lives for the window, a passed one and a client for the expiry, a bucket until it is full again.
      expect(await store.client.pttl(store.keys.greylistTriplet(t.client, t.sender, 'c@y.example'))).toBeLessThanOrEqual(policy.windowMs);
      expect(await store.client.pttl(store.keys.greylistTriplet(t.client, t.sender, t.recipient))).toBeGreaterThan(policy.windowMs);
      expect(await store.client.pttl(store.keys.rateLimitBucket('ip:192.0.2.1 10/1h'))).toBeLessThanOrEqual(360_000);
    } finally {
      await store.close();
    }
  });
});

describe('redis token keys', () => {
  it('keep their names: the prefix and the id\'s 8 bytes in base64url, however they are built', () => {
    const keys = new RedisKeys('pré:');
    const all = ids(0n, 1n, -1n, 0x0123456789abcdefn, -(1n << 63n), 0x7fffffffffffffffn, 42n);
    const bytes = Buffer.from(all.buffer);
    const expected = Array.from(all, (_, i) => `pré:{bayes}:t:${bytes.toString('base64url', i * 8, i * 8 + 8)}`);
    expect(keys.bayesTokens(all)).toEqual(expected);
    expect(keys.bayesTokens(all.subarray(2), 1, 3)).toEqual(expected.slice(3, 5));
    const halves = new Uint32Array(all.buffer);
    const out = Buffer.alloc(keys.bayesTokenBytes * all.length);
    let at = 0;
    for (let i = 0; i < all.length; i++) at = keys.writeBayesToken(out, at, halves[2 * i], halves[2 * i + 1]);
    expect(at).toBe(out.length);
    expect(out.toString()).toBe(expected.join(''));
  });
});

describe('redis quarantine indexes', () => {
  it('indexes entries held before the filter indexes existed, once, when the store opens', async () => {
    const prefix = `reindex:${process.pid}:`;
    const keys = new RedisKeys(prefix);
    const first = await RedisStore.open({ url: inject('redisUrl'), prefix });
    const entry = (id: string, time: number, mailFrom: string) => ({
      id, time, clientIp: '192.0.2.1', helo: 'x', mailFrom, rcptTo: ['User@example.net'], subject: 's', size: 1, score: 7,
      action: 'quarantine' as const, symbols: [{ name: 'SPF_FAIL', score: 7 }],
    });
    try {
      // What an older version wrote: the entry and the time index only.
      await first.client.del(keys.quarantineIndexed);
      for (const [id, time] of [['a', 1000], ['b', 2000]] as const) {
        await first.client.set(keys.quarantineEntry(id), JSON.stringify(entry(id, time, `${id}@example.org`)));
        await first.client.zadd(keys.quarantineByTime, time, id);
      }
      expect((await first.quarantine.list({ limit: 10, symbol: 'SPF_FAIL' })).total).toBe(0);
      const second = await RedisStore.open({ url: inject('redisUrl'), prefix });
      try {
        const list = await second.quarantine.list({ limit: 10, recipient: 'user@example.net', minScore: 7 });
        expect([list.total, list.entries.map((e) => e.id)]).toEqual([2, ['b', 'a']]);
        expect((await second.quarantine.list({ limit: 10, sender: 'A@example.org' })).entries.map((e) => e.id)).toEqual(['a']);
        expect(await second.quarantine.reindex()).toBe(0);
      } finally {
        await second.close();
      }
    } finally {
      const all = await first.client.keys(keys.quarantinePattern);
      if (all.length) await first.client.del(...all);
      await first.close();
    }
  });
});

describe('redis held messages', () => {
  const entry = (id: string) => ({
    id, time: Date.now(), clientIp: '192.0.2.1', helo: 'x', mailFrom: 'a@example.org', rcptTo: ['user@example.net'], subject: 's', size: 4,
    score: 11, action: 'quarantine' as const, symbols: [{ name: 'GTUBE', score: 11 }],
  });

  it('expire a while after the retention, in the {quarantine} slot, so a node gone for good leaves nothing for ever', async () => {
    const prefix = `held:${process.pid}:`;
    const store = await RedisStore.open({ url: inject('redisUrl'), prefix });
    try {
      const quarantine = new Quarantine('unused', 2, store.quarantine, pino({ level: 'silent' }), store.quarantineMessages);
      await quarantine.hold(entry('0000000000T0001'), Buffer.from('body'));
      const key = store.keys.quarantineRaw('0000000000T0001');
      expect(key).toMatch(/^held:\d+:\{quarantine\}:raw:/);
      const ttl = await store.client.pttl(key);
      expect(ttl).toBeGreaterThan(2 * 86_400_000);
      expect(ttl).toBeLessThanOrEqual(2 * 86_400_000 + 2 * 3_600_000);
      await quarantine.delete('0000000000T0001');
    } finally {
      await store.close();
    }
  });

  it('leave messages held as files before the quarantine moved into Redis readable, and remove them with their entry', async () => {
    const prefix = `earlier:${process.pid}:`;
    const dir = mkdtempSync(join(tmpdir(), 'sluice-earlier-'));
    const store = await RedisStore.open({ url: inject('redisUrl'), prefix });
    try {
      const id = '0000000000E0001';
      writeFileSync(join(dir, `${id}.eml`), 'Subject: on disk\r\n\r\nx\r\n');
      writeFileSync(join(dir, `${id}.json`), JSON.stringify(entry(id)));
      await store.quarantine.add(entry(id));
      const quarantine = new Quarantine(dir, 30, store.quarantine, pino({ level: 'silent' }), store.quarantineMessages);
      expect((await quarantine.get(id))?.raw.toString()).toContain('Subject: on disk');
      expect(await quarantine.delete(id)).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await store.client.del(store.keys.quarantineIndexed);
      await store.close();
    }
  });

  it('refuse a hold that no replica confirms when replicas are asked for, and keep nothing of it', async () => {
    const prefix = `wait:${process.pid}:`;
    // The test Redis has no replica: WAIT 1 answers 0 after its timeout.
    const store = await RedisStore.open({ url: inject('redisUrl'), prefix, quarantineReplicas: { replicas: 1, timeoutMs: 100 } });
    try {
      const quarantine = new Quarantine('unused', 30, store.quarantine, pino({ level: 'silent' }), store.quarantineMessages);
      await expect(quarantine.hold(entry('0000000000W0001'), Buffer.from('body'))).rejects.toThrow('held message reached 0 of 1 Redis replicas within 100 ms');
      expect(await store.client.keys(store.keys.quarantinePattern)).toEqual([store.keys.quarantineIndexed]);
      // 'auto' on a master without replicas: the master's acknowledgement is the durability there is.
      const other = await RedisStore.open({ url: inject('redisUrl'), prefix });
      const auto = new Quarantine('unused', 30, other.quarantine, pino({ level: 'silent' }), other.quarantineMessages);
      await auto.hold(entry('0000000000W0002'), Buffer.from('body'));
      expect((await auto.get('0000000000W0002'))?.raw.toString()).toBe('body');
      await auto.delete('0000000000W0002');
      await other.close();
    } finally {
      await store.client.del(store.keys.quarantineIndexed);
      await store.close();
    }
  });
});

describe('redis URLs', () => {
  it('opens standalone, Sentinel and Cluster clients', () => {
    const clients = [
      createRedisClient('redis://127.0.0.1:1/2'),
      createRedisClient('redis-sentinel://:secret@127.0.0.1:1,127.0.0.1:2/mymaster/3'),
      createRedisClient('redis-cluster://127.0.0.1:1,127.0.0.1:2'),
    ];
    for (const client of clients) client.on('error', () => {});
    expect(clients[0]).toBeInstanceOf(Redis);
    expect((clients[1] as Redis).options).toMatchObject({ name: 'mymaster', db: 3, password: 'secret', sentinels: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }] });
    expect(clients[2]).toBeInstanceOf(Cluster);
    for (const client of clients) client.disconnect();
    expect(() => createRedisClient('http://example.org')).toThrow(/unsupported Redis URL/);
  });
});

describe('redis token expiry', () => {
  let store: RedisStore;
  beforeAll(async () => { store = await RedisStore.open({ url: inject('redisUrl'), prefix: `ttl:${process.pid}:`, tokenTtlDays: 1 }); });
  afterAll(async () => { await store.bayes.reset(); await store.close(); });

  it('lets a token seen once expire and keeps one seen again', async () => {
    await store.bayes.learn('m1', ids(1n, 2n), 'spam');
    await store.bayes.learn('m2', ids(2n), 'ham');
    const [once, twice] = store.keys.bayesTokens(ids(1n, 2n));
    const ttlOnce = await store.client.ttl(once);
    expect(ttlOnce).toBeGreaterThan(86_000);
    expect(ttlOnce).toBeLessThanOrEqual(86_400);
    expect(await store.client.ttl(twice)).toBe(-1);
  });
});

describe('redis outage', () => {
  it('reports BAYES_ERROR while Redis is down, quickly, and recovers by itself', async () => {
    const server = await startRedisServer();
    const store = await RedisStore.open({ url: server.url, prefix: 'outage:' });
    const config = parseConfig({ bayes: { minLearns: 1, minWords: 1 } });
    const log = pino({ level: 'silent' });
    const pipeline = new Pipeline({ checks: [bayesCheck(store.bayes, bayesSettings(config))], policy: { scores: {}, groupCaps: {}, force: {}, actions: config.actions }, timeoutMs: 5000, log });
    const message = Buffer.from('From: a@example.org\r\nSubject: cheap pills now\r\n\r\ncheap pills now, buy cheap pills today\r\n');
    const envelope = { clientIp: '192.0.2.1', helo: 'x', mailFrom: 'a@example.org', rcptTo: ['b@example.net'] };
    try {
      await server.stop();
      const started = Date.now();
      const { verdict } = await pipeline.scan(envelope, message);
      expect(verdict.symbols.map((s) => s.name)).toContain('BAYES_ERROR');
      expect(Date.now() - started).toBeLessThan(2000);

      const again = await startRedisServer({ port: server.port });
      try {
        const deadline = Date.now() + 10_000;
        while (store.client.status !== 'ready' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const { verdict: after } = await pipeline.scan(envelope, message);
        expect(after.symbols.map((s) => s.name)).not.toContain('BAYES_ERROR');
      } finally {
        await store.close();
        await again.stop();
      }
    } finally {
      await server.stop();
    }
  });
});
