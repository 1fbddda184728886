// IP blocklists: query names, answer codes, blocked answers, errors, and the early verdict.
import { describe, expect, it } from 'vitest';
import { zoneResolver } from '../../../src/dns/resolver.ts';
import { BlocklistZone, publicZoneName } from '../../../src/checks/dnsbl/zone.ts';
import { lookupAll, WarnLimiter } from '../../../src/checks/dnsbl/lookup.ts';
import { Blocklists, blocklistChecks, blocklistRejectText } from '../../../src/checks/dnsbl/index.ts';
import { Pipeline } from '../../../src/scan/pipeline.ts';
import type { Config } from '../../../src/config/schema.ts';
import { TEST_MULTI, TEST_ZEN, envelope, memoryLog, testConfig } from './helpers.ts';

const zen = () => new BlocklistZone('ip', 'DNSBL', { ...TEST_ZEN, mask: {}, blockedCodes: [] });

describe('blocklist zone', () => {
  it('reverses IPv4 octets and IPv6 nibbles under the zone', () => {
    expect(zen().queryName('192.0.2.99')).toBe('99.2.0.192.zen.test');
    expect(zen().queryName('::ffff:192.0.2.99')).toBe('99.2.0.192.zen.test');
    expect(zen().queryName('2001:db8::1:2')).toBe(
      '2.0.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test');
  });

  it('maps codes to symbols and ignores answers outside 127.0.0.0/8', () => {
    const answer = zen().interpret(['127.0.0.4', '127.0.0.10', '127.0.0.99', '203.0.113.5']);
    expect(answer.listings).toEqual([{ symbol: 'DNSBL_TEST_XBL', code: '127.0.0.4' }, { symbol: 'DNSBL_TEST_PBL', code: '127.0.0.10' }]);
    expect(answer.unknownCodes).toEqual(['127.0.0.99', '203.0.113.5']);
    expect(answer.blockedCode).toBeUndefined();
  });

  it('reads bitmask lists and their "refused" code', () => {
    const multi = new BlocklistZone('domain', 'URIBL', { ...TEST_MULTI, codes: {} });
    expect(multi.interpret(['127.0.0.10']).listings.map((l) => l.symbol)).toEqual(['URIBL_MULTI_BLACK', 'URIBL_MULTI_RED']);
    expect(multi.interpret(['127.0.0.1'])).toEqual({ listings: [], blockedCode: '127.0.0.1', unknownCodes: [] });
    expect(multi.blockedSymbol).toBe('URIBL_MULTI_BLOCKED');
  });

  it('treats 127.255.255.0/24 as the list refusing us, never as a listing', () => {
    const answer = zen().interpret(['127.255.255.254']);
    expect(answer.listings).toEqual([]);
    expect(answer.blockedCode).toBe('127.255.255.254');
    expect(zen().blockedSymbol).toBe('DNSBL_TEST_BLOCKED');
  });

  it('keeps a Spamhaus DQS key out of the displayed name', () => {
    expect(publicZoneName('abcdefghijklmnopqrstuvwxyz.zen.dq.spamhaus.net')).toBe('zen.spamhaus.org');
    const dqs = new BlocklistZone('ip', 'DNSBL', { zone: 'secretkey123.zen.dq.spamhaus.net', codes: { '127.0.0.2': 'DNSBL_ZEN_SBL', '127.0.0.4': 'DNSBL_ZEN_XBL' }, mask: {}, blockedCodes: [] });
    expect(dqs.queryName('192.0.2.1')).toBe('1.2.0.192.secretkey123.zen.dq.spamhaus.net');
    expect(dqs.name).toBe('zen.spamhaus.org');
    expect(dqs.blockedSymbol).toBe('DNSBL_ZEN_BLOCKED');
  });

  it('gives a single-symbol list a fallback symbol for any code', () => {
    const z = new BlocklistZone('ip', 'DNSBL', { zone: 'bl.spamcop.net', symbol: 'DNSBL_SPAMCOP', codes: {}, mask: {}, blockedCodes: [] });
    expect(z.interpret(['127.0.0.2']).listings).toEqual([{ symbol: 'DNSBL_SPAMCOP', code: '127.0.0.2' }]);
    expect(z.blockedSymbol).toBe('DNSBL_SPAMCOP_BLOCKED');
  });
});

describe('lookups', () => {
  const zone = {
    '2.0.0.127.zen.test': { A: ['127.0.0.2'] },
    '5.2.0.192.zen.test': { A: ['127.0.0.4', '127.0.0.10'] },
    '6.2.0.192.zen.test': { A: ['127.255.255.254'] },
    '7.2.0.192.zen.test': { timeout: true },
    '8.2.0.192.zen.test': { servfail: true },
  };
  const run = (ip: string, extra: { log?: ReturnType<typeof memoryLog>['log']; warnings?: WarnLimiter; deadlineMs?: number } = {}) => lookupAll([{ value: ip }], {
    resolver: zoneResolver(zone, { timeoutMs: 1000 }),
    zones: [zen()],
    family: 'DNSBL',
    log: extra.log ?? memoryLog().log,
    warnings: extra.warnings ?? new WarnLimiter(60_000),
    signal: new AbortController().signal,
    deadlineMs: extra.deadlineMs ?? 1000,
  });

  it('reports each listing with the list name, the address and the code', async () => {
    expect(await run('192.0.2.5')).toEqual([
      { name: 'DNSBL_TEST_XBL', detail: 'zen.test: 192.0.2.5 127.0.0.4' },
      { name: 'DNSBL_TEST_PBL', detail: 'zen.test: 192.0.2.5 127.0.0.10' },
    ]);
    expect(await run('192.0.2.1')).toEqual([]);
  });

  it('turns a refused query into a zero-weight symbol and warns once per interval', async () => {
    const { log, lines } = memoryLog();
    const warnings = new WarnLimiter(60_000);
    expect(await run('192.0.2.6', { log, warnings })).toEqual([{ name: 'DNSBL_TEST_BLOCKED', detail: 'zen.test: 127.255.255.254' }]);
    await run('192.0.2.6', { log, warnings });
    const warned = lines.filter((l) => l.msg === 'blocklist refuses our queries; its answers are ignored');
    expect(warned).toHaveLength(1);
    expect(warned[0].meaning).toMatch(/public or open resolver/);
  });

  it('reports DNS trouble as DNSBL_ERROR within the deadline', async () => {
    const started = Date.now();
    expect(await run('192.0.2.7', { deadlineMs: 100 })).toEqual([{ name: 'DNSBL_ERROR', detail: 'zen.test: ETIMEOUT' }]);
    expect(Date.now() - started).toBeLessThan(600);
    expect(await run('192.0.2.8')).toEqual([{ name: 'DNSBL_ERROR', detail: 'zen.test: ESERVFAIL' }]);
  });
});

describe('dnsbl checks in the pipeline', () => {
  const zone = {
    '2.0.0.127.zen.test': { A: ['127.0.0.2'] },
    '9.2.0.192.zen.test': { A: ['127.0.0.2'] },
    '9.1.168.192.zen.test': { A: ['127.0.0.2'] },
    '7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test': { A: ['127.0.0.4'] },
  };

  function pipelineFor(config: Readonly<Config>) {
    const resolver = zoneResolver(zone);
    const { log } = memoryLog();
    const checks = blocklistChecks({ config: { ...config, checks: { ...config.checks, client: false, uribl: false } }, dns: resolver, log });
    const policy = { scores: config.scores, groupCaps: {}, force: {}, actions: config.actions };
    return { pipeline: new Pipeline({ checks, policy, timeoutMs: 2000, log }), resolver };
  }

  async function preData(config: Readonly<Config>, env = envelope({ clientIp: '192.0.2.9' })) {
    const { pipeline, resolver } = pipelineFor(config);
    const session = pipeline.begin('t', env);
    session.start('connect');
    session.start('mail');
    return { verdict: await session.preDataVerdict(), resolver };
  }

  it('reaches reject before DATA for a listed client, with a reply naming the list', async () => {
    const config = testConfig();
    const { verdict } = await preData(config);
    expect(verdict.action).toBe('reject');
    expect(verdict.symbols.map((s) => s.name)).toEqual(['DNSBL_TEST_SBL']);
    expect(blocklistRejectText(verdict, config)).toBe('client 192.0.2.9 listed at zen.test; see https://lists.test/lookup?q=192.0.2.9');
  });

  it('asks the list once per client although both stages look', async () => {
    const { resolver } = await preData(testConfig());
    expect(resolver.stats.queries).toBe(1);
  });

  it('skips allowlisted networks and sender domains', async () => {
    const byNetwork = await preData(testConfig({ allowlist: { networks: ['192.0.2.0/24'] } }));
    expect(byNetwork.verdict.symbols.map((s) => s.name)).toEqual(['ALLOWLIST_CLIENT']);
    expect(byNetwork.resolver.stats.lookups).toBe(0);
    const bySender = await preData(testConfig({ allowlist: { senderDomains: ['sender.example'] } }),
      envelope({ clientIp: '192.0.2.9', mailFrom: 'bounce@mail.sender.example' }));
    expect(bySender.verdict.symbols.map((s) => s.name)).toEqual(['ALLOWLIST_SENDER']);
    expect(bySender.verdict.action).toBe('accept');
  });

  it('looks up IPv6 clients by nibbles', async () => {
    const { verdict } = await preData(testConfig(), envelope({ clientIp: '2001:db8::7' }));
    expect(verdict.symbols).toEqual([{ name: 'DNSBL_TEST_XBL', score: 15, detail: 'zen.test: 2001:db8::7 127.0.0.4' }]);
  });

  it('never looks up private addresses', async () => {
    const { verdict, resolver } = await preData(testConfig(), envelope({ clientIp: '192.168.1.9' }));
    expect(verdict.symbols).toEqual([]);
    expect(resolver.stats.lookups).toBe(0);
  });

  it('gives no reply text when no list contributed', () => {
    const config = testConfig();
    expect(blocklistRejectText({ action: 'reject', score: 20, required: 5, symbols: [{ name: 'GTUBE', score: 20 }] }, config)).toBeUndefined();
    expect(blocklistRejectText({ action: 'reject', score: 20, required: 5, symbols: [{ name: 'DNSBL_TEST_BLOCKED', score: 0, detail: 'zen.test: 127.255.255.254' }] }, config)).toBeUndefined();
  });

  it('looks nothing up with no zones configured or the family off', () => {
    const config = testConfig({ checks: { dnsbl: false, uribl: false } });
    const b = new Blocklists({ config, dns: zoneResolver({}), log: memoryLog().log });
    expect(b.ipZones).toEqual([]);
    expect(blocklistChecks({ config, dns: zoneResolver({}), log: memoryLog().log, blocklists: b }).map((c) => c.name))
      .toEqual(['allowlist-client', 'allowlist-sender', 'rdns', 'helo']);
  });
});
