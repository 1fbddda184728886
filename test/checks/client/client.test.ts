// Cheap client signals: reverse DNS, HELO sanity, allowlists.
import { describe, expect, it } from 'vitest';
import { zoneResolver } from '../../../src/dns/resolver.ts';
import { reverseDnsHits, rdnsCheck } from '../../../src/checks/client/rdns.ts';
import { classifyHelo, heloCheck, heloHits } from '../../../src/checks/client/helo.ts';
import { Allowlist, allowlistForceRules, domainOf } from '../../../src/checks/client/allowlist.ts';
import { score } from '../../../src/scan/scorer.ts';
import { envelope, memoryLog, scanContext, testConfig } from '../dnsbl/helpers.ts';

describe('reverse DNS', () => {
  const resolver = zoneResolver({
    '10.2.0.192.in-addr.arpa': { PTR: ['mail.good.example.'] },
    'mail.good.example': { A: ['192.0.2.10'] },
    '11.2.0.192.in-addr.arpa': { PTR: ['forged.example'] },
    'forged.example': { A: ['198.51.100.1'] },
    '12.2.0.192.in-addr.arpa': { servfail: true },
    '13.2.0.192.in-addr.arpa': { PTR: ['dangling.example'] },
    '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa': { PTR: ['v6.good.example'] },
    'v6.good.example': { AAAA: ['2001:0db8:0000::1'] },
  });

  it('is quiet for a forward-confirmed name, IPv4 and IPv6', async () => {
    expect(await reverseDnsHits(resolver, '192.0.2.10')).toEqual([]);
    expect(await reverseDnsHits(resolver, '::ffff:192.0.2.10')).toEqual([]);
    expect(await reverseDnsHits(resolver, '2001:db8::1')).toEqual([]);
  });

  it('reports no name, a name that does not point back, and DNS trouble apart', async () => {
    expect(await reverseDnsHits(resolver, '192.0.2.99')).toEqual([{ name: 'RDNS_NONE' }]);
    expect(await reverseDnsHits(resolver, '192.0.2.11')).toEqual([{ name: 'RDNS_MISMATCH', detail: 'forged.example' }]);
    expect(await reverseDnsHits(resolver, '192.0.2.13')).toEqual([{ name: 'RDNS_MISMATCH', detail: 'dangling.example' }]);
    expect(await reverseDnsHits(resolver, '192.0.2.12')).toEqual([{ name: 'RDNS_ERROR', detail: 'PTR: ESERVFAIL' }]);
  });

  it('does not judge local connections', async () => {
    const check = rdnsCheck(() => resolver);
    expect(await check.run(scanContext(memoryLog().log, envelope({ clientIp: '127.0.0.2' })))).toEqual([]);
    expect(await check.run(scanContext(memoryLog().log, envelope({ clientIp: '::1' })))).toEqual([]);
  });
});

describe('HELO', () => {
  const ours = new Set(['mx.ours.example', 'ours.example']);

  it('classifies names and address literals', () => {
    expect(classifyHelo('mail.example.com')).toBe('fqdn');
    expect(classifyHelo('mail.example.com.')).toBe('fqdn');
    expect(classifyHelo('DESKTOP-1234')).toBe('single-label');
    expect(classifyHelo('[192.0.2.1]')).toBe('literal');
    expect(classifyHelo('[IPv6:2001:db8::1]')).toBe('literal');
    expect(classifyHelo('192.0.2.1')).toBe('bare-ip');
    expect(classifyHelo('[not an ip]')).toBe('invalid');
    expect(classifyHelo('bad_name!.example')).toBe('invalid');
    expect(classifyHelo('1.2.3')).toBe('invalid');
    expect(classifyHelo('')).toBe('invalid');
  });

  it('gives each kind its symbol, and catches a client claiming our names', () => {
    expect(heloHits('mail.example.com', ours)).toEqual([]);
    expect(heloHits('[192.0.2.1]', ours)).toEqual([]);
    expect(heloHits('192.0.2.1', ours)).toEqual([{ name: 'HELO_INVALID', detail: 'bare IP address' }]);
    expect(heloHits('localhost', ours)).toEqual([{ name: 'HELO_NOT_FQDN', detail: 'localhost' }]);
    expect(heloHits('MX.Ours.Example', ours)).toEqual([{ name: 'HELO_OURS', detail: 'mx.ours.example' }]);
    expect(heloHits('ours.example', ours)).toEqual([{ name: 'HELO_OURS', detail: 'ours.example' }]);
    expect(heloHits('x\u0000y', ours)).toEqual([{ name: 'HELO_INVALID', detail: 'x?y' }]);
  });

  it('lets allowlisted clients use our names', async () => {
    const config = testConfig({ allowlist: { networks: ['198.51.100.0/24'] } });
    const check = heloCheck({ hostname: config.smtp.hostname, domains: config.domains, allowlist: new Allowlist(config.allowlist) });
    const ctx = (ip: string) => scanContext(memoryLog().log, envelope({ clientIp: ip, helo: 'mx.ours.example' }));
    expect(await check.run(ctx('198.51.100.7'))).toEqual([]);
    expect(await check.run(ctx('192.0.2.7'))).toEqual([{ name: 'HELO_OURS', detail: 'mx.ours.example' }]);
    // Local processes are not judged either.
    expect(await check.run(ctx('127.0.0.1'))).toEqual([]);
  });
});

describe('allowlist', () => {
  const allowlist = new Allowlist(testConfig({
    allowlist: { networks: ['198.51.100.0/24', '2001:db8:1::/48', '203.0.113.5'], senderDomains: ['Partner.example'] },
  }).allowlist);

  it('matches IPv4 and IPv6 networks, and single addresses', () => {
    expect(allowlist.hasClient('198.51.100.200')).toBe(true);
    expect(allowlist.hasClient('::ffff:198.51.100.200')).toBe(true);
    expect(allowlist.hasClient('198.51.101.1')).toBe(false);
    expect(allowlist.hasClient('2001:db8:1:ffff::1')).toBe(true);
    expect(allowlist.hasClient('2001:db8:2::1')).toBe(false);
    expect(allowlist.hasClient('203.0.113.5')).toBe(true);
    expect(allowlist.hasClient('203.0.113.6')).toBe(false);
  });

  it('matches sender domains and their subdomains, not look-alikes', () => {
    expect(allowlist.hasSender('a@partner.example')).toBe(true);
    expect(allowlist.hasSender('a@bounces.PARTNER.example')).toBe(true);
    expect(allowlist.hasSender('a@notpartner.example')).toBe(false);
    expect(allowlist.hasSender('')).toBe(false);
    expect(domainOf('"odd@local"@Example.COM')).toBe('example.com');
  });

  it('forces accept only when the operator asks for it, and a harsher force rule still wins', () => {
    expect(allowlistForceRules(testConfig())).toEqual({});
    const force = allowlistForceRules(testConfig({ allowlist: { bypassScoring: true } }));
    const policy = { scores: { SPAM: 50 }, groupCaps: {}, force, actions: { tag: 5, quarantine: 10, reject: 15 } };
    expect(score([{ name: 'ALLOWLIST_CLIENT' }, { name: 'SPAM' }], policy).action).toBe('accept');
    expect(score([{ name: 'ALLOWLIST_CLIENT' }, { name: 'DMARC_POLICY_REJECT' }], { ...policy, force: { ...force, DMARC_POLICY_REJECT: 'reject' } }).action).toBe('reject');
  });

  it('rejects malformed networks in config', () => {
    expect(() => testConfig({ allowlist: { networks: ['10.0.0.0/33'] } })).toThrow(/allowlist.networks.0/);
    expect(() => testConfig({ allowlist: { networks: ['example.com'] } })).toThrow(/allowlist.networks.0/);
  });
});
