// Domain lists: which domains a message points at, and what the lists say about them.
import { describe, expect, it } from 'vitest';
import { zoneResolver } from '../../../src/dns/resolver.ts';
import { linkHosts, messageDomains, registrableDomain } from '../../../src/checks/uribl/extract.ts';
import { blocklistChecks, blocklistRejectText } from '../../../src/checks/dnsbl/index.ts';
import { Pipeline } from '../../../src/scan/pipeline.ts';
import type { Config } from '../../../src/config/schema.ts';
import { envelope, memoryLog, testConfig } from '../dnsbl/helpers.ts';

describe('domain extraction', () => {
  it('reduces hosts to the registrable domain', () => {
    expect(registrableDomain('a.b.Example.co.uk.')).toBe('example.co.uk');
    expect(registrableDomain('www.example.com')).toBe('example.com');
    expect(registrableDomain('192.0.2.1')).toBeUndefined();
    expect(registrableDomain('localhost')).toBeUndefined();
    expect(registrableDomain('bücher.example')).toBe('xn--bcher-kva.example');
  });

  it('finds hrefs, bare URLs, www. names and disguised links', () => {
    const html = `<a href="https://click.evil.example/x?y=1">here</a> <img src='//img.cdn.example/p.gif'>
      visit www.bare.example today, or h&#116;tp&#58;//entity.example/ and <a href=http://user@noquote.example:8080/>x</a>
      <a href="HTTPS://%65ncoded.example/">y</a>`;
    expect(new Set(linkHosts(html))).toEqual(new Set(['click.evil.example', 'img.cdn.example', 'www.bare.example', 'entity.example', 'noquote.example', 'encoded.example']));
  });

  it('puts sender domains first, dedups, and stops at the cap', () => {
    const text = 'see https://a.one.example/ https://b.one.example/ https://two.example https://three.example';
    expect(messageDomains({ senders: ['mail.sender.example', 'sender.example'], text }, 3)).toEqual([
      { domain: 'sender.example', source: 'mail from' },
      { domain: 'one.example', source: 'link' },
      { domain: 'two.example', source: 'link' },
    ]);
  });
});

describe('uribl checks', () => {
  const zone = {
    'evil.example.dbl.test': { A: ['127.0.1.2'] },
    'spamsender.example.dbl.test': { A: ['127.0.1.2'] },
    'grey.example.multi.test': { A: ['127.0.0.6'] },
    'refused.example.dbl.test': { A: ['127.255.255.255'] },
    'slow.example.dbl.test': { timeout: true },
  };

  function setup(config: Readonly<Config> = testConfig()) {
    const resolver = zoneResolver(zone, { timeoutMs: 1000 });
    const { log } = memoryLog();
    const checks = blocklistChecks({ config: { ...config, checks: { ...config.checks, client: false, dnsbl: false } }, dns: resolver, log });
    const policy = { scores: config.scores, groupCaps: {}, force: {}, actions: config.actions };
    return { pipeline: new Pipeline({ checks, policy, timeoutMs: 3000, log }), resolver };
  }

  const message = (body: string, from = 'news@newsletter.example', type = 'text/html') =>
    Buffer.from(`From: ${from}\r\nTo: user@ours.example\r\nSubject: hi\r\nContent-Type: ${type}; charset=utf-8\r\n\r\n${body}\r\n`);

  it('scores a link to a listed domain given as a subdomain URL inside HTML', async () => {
    const { pipeline } = setup();
    const { verdict } = await pipeline.scan(envelope(), message('<p><a href="https://www.promo.evil.example/buy">Buy</a></p>'));
    expect(verdict.symbols).toContainEqual({ name: 'URIBL_TEST_SPAM', score: 7, detail: 'dbl.test: evil.example 127.0.1.2 (link)' });
  });

  it('reads bitmask lists', async () => {
    const { pipeline } = setup();
    const { verdict } = await pipeline.scan(envelope(), message('plain text with http://grey.example/x', undefined, 'text/plain'));
    expect(verdict.symbols.map((s) => s.name).sort()).toEqual(['URIBL_MULTI_BLACK', 'URIBL_MULTI_GREY']);
  });

  it('looks the envelope sender up at MAIL FROM, so it can be refused before DATA', async () => {
    const { pipeline } = setup();
    const session = pipeline.begin('t', envelope({ mailFrom: 'x@bounce.spamsender.example' }));
    session.start('connect');
    session.start('mail');
    const verdict = await session.preDataVerdict();
    expect(verdict.symbols).toEqual([{ name: 'URIBL_TEST_SPAM', score: 7, detail: 'dbl.test: spamsender.example 127.0.1.2 (mail from)' }]);
    expect(blocklistRejectText(verdict, testConfig())).toBe('domain spamsender.example listed at dbl.test');
  });

  it('looks up the From header domain', async () => {
    const { pipeline } = setup();
    const { verdict } = await pipeline.scan(envelope(), message('no links', 'Evil <boss@evil.example>', 'text/plain'));
    expect(verdict.symbols.map((s) => s.detail)).toEqual(['dbl.test: evil.example 127.0.1.2 (from)']);
  });

  it('never counts a refused query or a DNS failure as a listing', async () => {
    const { pipeline } = setup(testConfig({ dns: { timeoutMs: 100 } }));
    const { verdict } = await pipeline.scan(envelope(), message('<a href="http://refused.example/">a</a> <a href="http://slow.example/">b</a>'));
    expect(verdict.score).toBe(0);
    expect(verdict.symbols.map((s) => s.name).sort()).toEqual(['URIBL_ERROR', 'URIBL_TEST_SPAM_BLOCKED']);
  });

  it('caps the distinct domains looked up per message', async () => {
    const { pipeline, resolver } = setup(testConfig({ uribl: { zones: [{ zone: 'dbl.test', codes: { '127.0.1.2': 'URIBL_TEST_SPAM' } }], maxDomains: 5 } }));
    const links = Array.from({ length: 30 }, (_, i) => `<a href="http://d${i}.example/">${i}</a>`).join('\n');
    await pipeline.scan(envelope(), message(links));
    // Envelope sender plus four link domains, one zone each.
    expect(resolver.stats.lookups).toBe(5);
  });

  it('stays within the per-message DNS budget shared with the other checks', async () => {
    const { pipeline, resolver } = setup(testConfig({
      dns: { timeoutMs: 200, maxQueriesPerMessage: 4 },
      uribl: { zones: [{ zone: 'dbl.test', codes: { '127.0.1.2': 'URIBL_TEST_SPAM' } }] },
    }));
    const links = Array.from({ length: 10 }, (_, i) => `<a href="http://d${i}.example/">${i}</a>`).join('\n');
    const { verdict } = await pipeline.scan(envelope(), message(links));
    expect(resolver.stats.lookups).toBe(4);
    expect(verdict.symbols.find((s) => s.name === 'URIBL_ERROR')?.detail).toBe('dbl.test: EBUDGET');
  });

  it('skips lookups for allowlisted senders', async () => {
    const { pipeline, resolver } = setup(testConfig({ allowlist: { senderDomains: ['sender.example'] } }));
    const { verdict } = await pipeline.scan(envelope(), message('<a href="https://evil.example/">x</a>'));
    expect(verdict.symbols.map((s) => s.name)).toEqual(['ALLOWLIST_SENDER']);
    expect(resolver.stats.lookups).toBe(0);
  });
});
