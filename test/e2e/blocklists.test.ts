// Blocklists end to end: a real gateway, a real DNS server on loopback, clients connecting from
// different loopback addresses (127.0.0.2, 127.0.0.3, … are all this machine).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { message, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { rawSmtp } from '../helpers/raw-smtp.ts';
import { createResolver } from '../../src/dns/resolver.ts';
import { parseConfig } from '../../src/config/load.ts';
import { Blocklists, blocklistChecks } from '../../src/checks/dnsbl/index.ts';
import { Pipeline } from '../../src/scan/pipeline.ts';
import { memoryLog } from '../checks/dnsbl/helpers.ts';

const ZEN = { zone: 'zen.test', lookupUrl: 'https://lists.test/q/{ip}', codes: { '127.0.0.2': 'DNSBL_TEST_SBL', '127.0.0.4': 'DNSBL_TEST_XBL' } };
const DBL = { zone: 'dbl.test', codes: { '127.0.1.2': 'URIBL_TEST_SPAM' } };
const SCORES = { DNSBL_TEST_SBL: 15, DNSBL_TEST_XBL: 15, URIBL_TEST_SPAM: 7 };

const ZONE = {
  // 127.0.0.2 is both RFC 5782's test entry and the listed client of these tests.
  '2.0.0.127.zen.test': { A: ['127.0.0.2'] },
  // Clients from 127.0.0.3 get the answer a list gives a public resolver: not a listing.
  '3.0.0.127.zen.test': { A: ['127.255.255.254'] },
  'test.dbl.test': { A: ['127.0.1.2'] },
  'evil.example.dbl.test': { A: ['127.0.1.2'] },
};

let dns: DnsTestServer;
let gw: TestGateway;

beforeAll(async () => {
  dns = await startDnsServer({ zone: ZONE });
  gw = await startTestGateway({
    dns: { servers: [dns.address], timeoutMs: 400 },
    checks: { auth: false, bayes: false, dnsbl: true, uribl: true, client: true },
    // Overrides take the parsed form of the config: every zone key spelled out.
    dnsbl: { zones: [{ ...ZEN, mask: {}, blockedCodes: [], selfTest: { listed: '127.0.0.2', unlisted: '127.0.0.1' } }] },
    uribl: { zones: [{ ...DBL, mask: {}, blockedCodes: [], selfTest: { listed: 'test', unlisted: 'invalid' } }] },
    scores: SCORES,
  });
});

afterAll(async () => {
  await gw?.stop();
  await dns?.stop();
});

interface VerdictLine { action: string; stage?: string; symbols: Record<string, number> }
const verdictFor = (ip: string) => gw.verdicts().filter((v) => v.ip === ip).at(-1) as VerdictLine | undefined;
const symbolsOf = (ip: string) => Object.keys(verdictFor(ip)?.symbols ?? {});

describe('blocklists through the gateway', () => {
  it('looks the client up as it connects, during the 100 ms early-talker pause, not after it', async () => {
    const asked = () => dns.queries.some((q) => q.name === '9.0.0.127.zen.test' && q.type === 'A');
    const c = await rawSmtp(gw.port, '127.0.0.9');
    await new Promise((r) => setTimeout(r, 60));
    expect(asked()).toBe(true);
    expect(await c.reply()).toMatch(/^220 /);
    c.close();
  });

  it('refuses a listed client at RCPT, before the body is sent', async () => {
    const before = gw.sink.messages.length;
    const err = await gw.send({ raw: message(), localAddress: '127.0.0.2' }).then(() => undefined, (e: { responseCode?: number; response?: string }) => e);
    expect(err?.responseCode).toBe(550);
    expect(err?.response).toMatch(/5\.7\.1/);
    expect(gw.sink.messages.length).toBe(before);
    const verdict = verdictFor('127.0.0.2');
    expect(verdict).toMatchObject({ action: 'reject', stage: 'rcpt' });
    expect(symbolsOf('127.0.0.2')).toContain('DNSBL_TEST_SBL');
  });

  it('lets an unlisted client through', async () => {
    const before = gw.sink.messages.length;
    const { response } = await gw.send({ raw: message(), localAddress: '127.0.0.4' });
    expect(response).toMatch(/^250/);
    expect(gw.sink.messages.length).toBe(before + 1);
  });

  it('does not take a 127.255.255.254 answer for a listing', async () => {
    const { response } = await gw.send({ raw: message(), localAddress: '127.0.0.3' });
    expect(response).toMatch(/^250/);
    const verdict = verdictFor('127.0.0.3');
    expect(verdict?.action).toBe('accept');
    expect(symbolsOf('127.0.0.3')).toContain('DNSBL_TEST_BLOCKED');
    expect(gw.logs.some((l) => l.msg === 'blocklist refuses our queries; its answers are ignored')).toBe(true);
  });

  it('scores a link to a listed domain, written as a subdomain URL inside HTML', async () => {
    const html = message({
      headers: ['MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8'],
      body: '<html><body><p>Offer: <a href="https://www.deals.evil.example/click?id=1">click</a></p></body></html>',
    });
    await gw.send({ raw: html, localAddress: '127.0.0.6' });
    expect(verdictFor('127.0.0.6')?.symbols).toMatchObject({ URIBL_TEST_SPAM: 7 });
  });

  it('answers a client that talks before the greeting with 421 and hangs up', async () => {
    const client = await rawSmtp(gw.port, '127.0.0.9');
    client.write('EHLO early.example\r\nMAIL FROM:<a@b.example>\r\n');
    const replies = [await client.reply(), await client.reply()];
    expect(replies.find((r) => r.startsWith('421'))).toMatch(/talk too soon/);
    await client.closed;
  });

  it('keeps replies bounded and mail flowing when DNS is gone', async () => {
    dns.behaviour.drop = true;
    try {
      const started = Date.now();
      // A client address no earlier test used, so nothing is cached.
      const { response } = await gw.send({ raw: message({ body: 'see https://unseen.example/' }), localAddress: '127.0.0.7' });
      expect(response).toMatch(/^250/);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(symbolsOf('127.0.0.7')).toEqual(expect.arrayContaining(['DNSBL_ERROR', 'URIBL_ERROR']));
    } finally {
      dns.behaviour.drop = false;
    }
  });
});

describe('RFC 5782 self-test over the wire', () => {
  it('switches off a zone that fails, so its listings stop counting, and back on when it passes', async () => {
    const broken = await startDnsServer({ zone: {}, ttl: 0, negativeTtl: 0 });
    const { log, lines } = memoryLog();
    try {
      const config = parseConfig({
        dns: { servers: [broken.address], timeoutMs: 400 },
        dnsbl: { zones: [ZEN] },
        uribl: { zones: [] },
        scores: SCORES,
      });
      const dnsLayer = createResolver({ ...config.dns, cacheSize: 0 });
      const blocklists = new Blocklists({ config, dns: dnsLayer, log });
      await blocklists.start();
      expect(blocklists.enabledIpZones()).toEqual([]);
      expect(lines.find((l) => l.msg === 'blocklist failed its self-test and is switched off')).toMatchObject({ list: 'zen.test' });

      // A listed client is not refused on a zone that is switched off.
      const checks = blocklistChecks({ config: { ...config, checks: { ...config.checks, client: false } }, dns: dnsLayer, log, blocklists });
      const pipeline = new Pipeline({ checks, policy: { scores: config.scores, groupCaps: {}, force: {}, actions: config.actions }, timeoutMs: 2000, log });
      const env = { clientIp: '127.0.0.2', helo: 'h.example', mailFrom: 'a@b.example', rcptTo: ['u@example.net'] };
      broken.set('2.0.0.127.zen.test', { A: ['127.0.0.2'] });
      let session = pipeline.begin('t1', env);
      session.start('connect');
      session.start('mail');
      expect((await session.preDataVerdict()).action).toBe('accept');

      await blocklists.selfTest();
      expect(blocklists.enabledIpZones().map((z) => z.name)).toEqual(['zen.test']);
      session = pipeline.begin('t2', { ...env });
      session.start('connect');
      session.start('mail');
      expect((await session.preDataVerdict()).action).toBe('reject');
      await blocklists.stop();
    } finally {
      await broken.stop();
    }
  });
});

describe('RFC 5782 self-test in the running gateway', () => {
  // Runs once the composition root builds the blocklists and starts them with the gateway (`core.blocklists`).
  it('does not refuse on a zone that failed its self-test at start', async () => {
    // A zone that answers for everything, 127.0.0.1 included: a dead list's wildcard.
    const lying = await startDnsServer({ zone: { '*.lying.test': { A: ['127.0.0.2'] } } });
    const gateway = await startTestGateway({
      dns: { servers: [lying.address], timeoutMs: 400 },
      checks: { auth: false, bayes: false, dnsbl: true, uribl: false, client: false },
      dnsbl: { zones: [{ zone: 'lying.test', codes: { '127.0.0.2': 'DNSBL_LYING' }, mask: {}, blockedCodes: [], selfTest: { listed: '127.0.0.2', unlisted: '127.0.0.1' } }] },
      scores: { DNSBL_LYING: 100 },
    });
    try {
      expect(gateway.logs.find((l) => l.msg === 'blocklist failed its self-test and is switched off')).toMatchObject({ list: 'lying.test' });
      const { response } = await gateway.send({ raw: message(), localAddress: '127.0.0.8' });
      expect(response).toMatch(/^250/);
    } finally {
      await gateway.stop();
      await lying.stop();
    }
  });
});
