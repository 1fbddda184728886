// RFC 5782 self-test: a zone that answers wrongly is switched off until it answers rightly again.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CachingResolver, zoneResolver } from '../../../src/dns/resolver.ts';
import { ZoneTransport, type Zone } from '../../../src/dns/zone.ts';
import { ZoneHealth } from '../../../src/checks/dnsbl/health.ts';
import { BlocklistZone } from '../../../src/checks/dnsbl/zone.ts';
import { Blocklists } from '../../../src/checks/dnsbl/index.ts';
import { TEST_ZEN, memoryLog, testConfig } from './helpers.ts';

const healthyIp: Zone = { '2.0.0.127.zen.test': { A: ['127.0.0.2'] } };
const healthyDomain: Zone = { 'test.dbl.test': { A: ['127.0.1.2'] } };

let running: ZoneHealth | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

function setup(zone: Zone, intervalMs = 60_000) {
  const { log, lines } = memoryLog();
  // No caching, so a changed zone is seen by the next test round.
  const transport = new ZoneTransport(zone, { timeoutMs: 30 });
  const resolver = new CachingResolver(transport, { maxTtl: 0, maxNegativeTtl: 0 });
  const zen = new BlocklistZone('ip', 'DNSBL', { ...TEST_ZEN, mask: {}, blockedCodes: [] });
  const health = new ZoneHealth({ zones: [zen], resolver, log, intervalMs, timeoutMs: 200 });
  running = health;
  return { health, zen, transport, lines };
}

describe('RFC 5782 self-test', () => {
  it('passes a zone that lists 127.0.0.2 and not 127.0.0.1', async () => {
    const { health, zen } = setup(healthyIp);
    expect(await health.test(zen)).toEqual({ result: 'pass' });
    await health.start();
    expect(health.isEnabled(zen)).toBe(true);
  });

  it('switches off a zone whose test entry is missing, with an error log', async () => {
    const { health, zen, lines } = setup({});
    await health.start();
    expect(health.isEnabled(zen)).toBe(false);
    expect(health.enabled([zen])).toEqual([]);
    const error = lines.find((l) => l.msg === 'blocklist failed its self-test and is switched off');
    expect(error).toMatchObject({ level: 50, list: 'zen.test', reason: 'test entry 127.0.0.2 is not listed' });
  });

  it('switches off a zone that lists everything (wildcard, expired domain)', async () => {
    const { health, zen } = setup({ '*.zen.test': { A: ['127.0.0.2'] } });
    expect(await health.test(zen)).toMatchObject({ result: 'fail', reason: expect.stringMatching(/127\.0\.0\.1, which must not be listed/) });
  });

  it('switches off a zone that refuses us (public resolver), saying why', async () => {
    const { health, zen } = setup({ '*.zen.test': { A: ['127.255.255.254'] } });
    expect(await health.test(zen)).toMatchObject({ result: 'fail', reason: expect.stringMatching(/public or open resolver/) });
  });

  it('leaves a zone as it is when DNS does not answer', async () => {
    const { health, zen, lines } = setup({ '2.0.0.127.zen.test': { timeout: true }, '1.0.0.127.zen.test': { timeout: true } });
    await health.start();
    expect(health.isEnabled(zen)).toBe(true);
    expect(lines.some((l) => l.msg === 'blocklist self-test could not run; the list keeps its state')).toBe(true);
  });

  it('switches a zone back on once it passes again, on the periodic test', async () => {
    const { health, zen, transport, lines } = setup({}, 20);
    await health.start();
    expect(health.isEnabled(zen)).toBe(false);
    transport.setZone(healthyIp);
    await vi.waitFor(() => expect(health.isEnabled(zen)).toBe(true), { timeout: 2000, interval: 10 });
    expect(lines.some((l) => l.msg === 'blocklist passes its self-test again and is switched back on')).toBe(true);
  });

  it('tests domain lists with the RFC 5782 `test` and `invalid` entries', async () => {
    const config = testConfig({ uribl: { zones: [{ zone: 'dbl.test', codes: { '127.0.1.2': 'URIBL_TEST_SPAM' } }] } });
    const blocklists = new Blocklists({ config, dns: zoneResolver({ ...healthyIp, ...healthyDomain }), log: memoryLog().log });
    await blocklists.start();
    try {
      expect(blocklists.enabledIpZones().map((z) => z.name)).toEqual(['zen.test']);
      expect(blocklists.enabledDomainZones().map((z) => z.name)).toEqual(['dbl.test']);
    } finally {
      await blocklists.stop();
    }
  });

  it('skips zones whose self-test is switched off', async () => {
    const config = testConfig({ dnsbl: { zones: [{ ...TEST_ZEN, selfTest: false }] }, uribl: { zones: [] } });
    const blocklists = new Blocklists({ config, dns: zoneResolver({}), log: memoryLog().log });
    await blocklists.start();
    expect(blocklists.enabledIpZones()).toHaveLength(1);
    await blocklists.stop();
  });
});
