// The caching layer over a zone literal: TTLs, negative caching, coalescing, budgets, bounds.
import { describe, expect, it } from 'vitest';
import { CachingResolver, zoneResolver } from '../../src/dns/resolver.ts';
import { ZoneTransport } from '../../src/dns/zone.ts';
import { isNegativeDnsError } from '../../src/dns/types.ts';
import { mailauthResolver } from '../../src/dns/mailauth.ts';
import { ptrName, reverseLookup } from '../../src/dns/reverse.ts';

const zone = {
  'example.com': { A: ['192.0.2.1'], TXT: ['v=spf1 -all', 'x'.repeat(600)], MX: [{ exchange: 'MX.example.com.', priority: 10 }], ttl: 60 },
  'www.example.com': { CNAME: 'example.com', ttl: 30 },
  '*.wild.example': { A: ['127.0.0.3'] },
  'deep.name.example': { A: ['127.0.0.4'] },
  'slow.example': { timeout: true },
  'bad.example': { servfail: true },
  '1.0.0.127.in-addr.arpa': { PTR: ['localhost.'] },
};

function setup(now = { t: 0 }) {
  const transport = new ZoneTransport(zone, { negativeTtl: 10, timeoutMs: 20 });
  const resolver = new CachingResolver(transport, { now: () => now.t, maxEntries: 100 });
  return { transport, resolver, now };
}

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code: string }) => e.code);

describe('zone resolver semantics', () => {
  it('answers in node:dns shapes and follows CNAMEs and wildcards', async () => {
    const { resolver } = setup();
    expect(await resolver.resolve('Example.COM.', 'A')).toEqual(['192.0.2.1']);
    expect(await resolver.resolve('example.com', 'MX')).toEqual([{ exchange: 'mx.example.com', priority: 10 }]);
    const txt = (await resolver.resolve('example.com', 'TXT')) as string[][];
    expect(txt[0]).toEqual(['v=spf1 -all']);
    expect(txt[1].map((s) => s.length)).toEqual([255, 255, 90]);
    expect(await resolver.resolve('www.example.com', 'A')).toEqual(['192.0.2.1']);
    expect(await resolver.resolve('www.example.com', 'CNAME')).toEqual(['example.com']);
    expect(await resolver.resolve('a.b.wild.example', 'A')).toEqual(['127.0.0.3']);
    expect(await resolver.resolve(ptrName('127.0.0.1'), 'PTR')).toEqual(['localhost']);
  });

  it('tells NXDOMAIN from NODATA, and both are negative answers', async () => {
    const { resolver } = setup();
    await expect(codeOf(resolver.resolve('nope.example.com', 'A'))).resolves.toBe('ENOTFOUND');
    await expect(codeOf(resolver.resolve('example.com', 'AAAA'))).resolves.toBe('ENODATA');
    // A parent of a name in the zone exists even without records.
    await expect(codeOf(resolver.resolve('name.example', 'A'))).resolves.toBe('ENODATA');
    await resolver.resolve('nope.example.com', 'A').catch((e) => expect(isNegativeDnsError(e)).toBe(true));
  });

  it('reports timeouts, SERVFAIL and bad names as errors', async () => {
    const { resolver } = setup();
    await expect(codeOf(resolver.resolve('slow.example', 'A'))).resolves.toBe('ETIMEOUT');
    await expect(codeOf(resolver.resolve('bad.example', 'TXT'))).resolves.toBe('ESERVFAIL');
    await expect(codeOf(resolver.resolve(`${'a'.repeat(64)}.example`, 'A'))).resolves.toBe('EBADNAME');
    await expect(codeOf(resolver.resolve('a..example', 'A'))).resolves.toBe('EBADNAME');
  });
});

describe('cache', () => {
  it('honours the TTL (smallest on the CNAME chain)', async () => {
    const { resolver, transport, now } = setup();
    await resolver.resolve('www.example.com', 'A');
    now.t = 29_000;
    await resolver.resolve('www.example.com', 'A');
    expect(transport.asked).toHaveLength(1);
    now.t = 30_001;
    await resolver.resolve('www.example.com', 'A');
    expect(transport.asked).toHaveLength(2);
    expect(resolver.stats.cacheHits).toBe(1);
  });

  it('caches negative answers for the negative TTL, but not failures', async () => {
    const { resolver, transport, now } = setup();
    await codeOf(resolver.resolve('nope.example.com', 'A'));
    await expect(codeOf(resolver.resolve('nope.example.com', 'A'))).resolves.toBe('ENOTFOUND');
    expect(transport.asked).toHaveLength(1);
    now.t = 10_001;
    await codeOf(resolver.resolve('nope.example.com', 'A'));
    expect(transport.asked).toHaveLength(2);
    await codeOf(resolver.resolve('bad.example', 'A'));
    await codeOf(resolver.resolve('bad.example', 'A'));
    expect(transport.asked).toHaveLength(4);
  });

  it('stays within its size bound, dropping the least recently used', async () => {
    const resolver = zoneResolver({ '*.example': { A: ['127.0.0.2'] } }, { maxEntries: 3 });
    for (const n of ['a', 'b', 'c']) await resolver.resolve(`${n}.example`, 'A');
    await resolver.resolve('a.example', 'A'); // a is now the most recent
    await resolver.resolve('d.example', 'A'); // evicts b
    expect(resolver.size).toBe(3);
    const hits = resolver.stats.cacheHits;
    await resolver.resolve('a.example', 'A');
    expect(resolver.stats.cacheHits).toBe(hits + 1);
    await resolver.resolve('b.example', 'A');
    expect(resolver.stats.cacheHits).toBe(hits + 1);
  });

  it('returns copies: a caller mutating an answer does not change the cache', async () => {
    const { resolver } = setup();
    const a = (await resolver.resolve('example.com', 'A')) as string[];
    a.push('10.0.0.1');
    expect(await resolver.resolve('example.com', 'A')).toEqual(['192.0.2.1']);
  });
});

describe('coalescing and budgets', () => {
  it('sends one query for identical questions in flight', async () => {
    const { resolver, transport } = setup();
    const answers = await Promise.all(Array.from({ length: 20 }, () => resolver.resolve('example.com', 'TXT')));
    expect(answers).toHaveLength(20);
    expect(transport.asked).toHaveLength(1);
    expect(resolver.stats.coalesced).toBe(19);
  });

  it('an aborted caller gives up alone; the others still get the answer', async () => {
    const { resolver } = setup();
    const controller = new AbortController();
    const first = codeOf(resolver.resolve('slow.example', 'A', { signal: controller.signal }));
    const second = codeOf(resolver.resolve('slow.example', 'A'));
    controller.abort();
    await expect(first).resolves.toBe('ECANCELLED');
    await expect(second).resolves.toBe('ETIMEOUT');
  });

  it('a budgeted view fails with EBUDGET after n lookups, cached or not', async () => {
    const { resolver } = setup();
    const budget = resolver.withBudget(3);
    await budget.resolve('example.com', 'A');
    await budget.resolve('example.com', 'A');
    await codeOf(budget.resolve('nope.example.com', 'A'));
    await expect(codeOf(budget.resolve('example.com', 'A'))).resolves.toBe('EBUDGET');
    expect(budget.used).toBe(3);
    // The shared layer itself is not limited.
    await expect(resolver.resolve('example.com', 'A')).resolves.toEqual(['192.0.2.1']);
  });
});

describe('adapters', () => {
  it('feeds mailauth with node:dns-shaped answers and errors', async () => {
    const { resolver } = setup();
    const r = mailauthResolver(resolver);
    expect(await r('example.com', 'A')).toEqual(['192.0.2.1']);
    await expect(codeOf(r('example.com', 'SPF'))).resolves.toBe('ENODATA');
  });

  it('answers smtp-server reverse lookups through the layer', async () => {
    const { resolver, transport } = setup();
    expect(await reverseLookup(resolver)('127.0.0.1')).toEqual(['localhost']);
    expect(transport.asked).toEqual(['PTR 1.0.0.127.in-addr.arpa']);
  });

  it('builds reverse names for IPv4, mapped and IPv6 addresses', () => {
    expect(ptrName('192.0.2.1')).toBe('1.2.0.192.in-addr.arpa');
    expect(ptrName('::ffff:192.0.2.1')).toBe('1.2.0.192.in-addr.arpa');
    expect(ptrName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  });
});
