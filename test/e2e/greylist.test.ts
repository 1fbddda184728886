// Greylisting over real SMTP: a client that retries, with time moved forward through the gateway's clock.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startTestGateway, message, GTUBE, type TestGateway, type Overrides } from '../helpers/gateway.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);
let clock = T0;
let gw: TestGateway | undefined;
let redis: RedisServer | undefined;
let dns: DnsTestServer | undefined;
afterEach(async () => {
  await gw?.stop();
  await redis?.stop();
  await dns?.stop();
  gw = undefined;
  redis = undefined;
  dns = undefined;
});
const start = async (o: Overrides = {}) => {
  clock = T0;
  gw = await startTestGateway({ greylist: { enabled: true }, ...o }, { now: () => clock });
  return gw;
};
const attempt = (g: TestGateway, input: { from?: string; to?: string[]; localAddress?: string } = {}) =>
  g.send({ raw: message(), ...input }).then((r) => r.response, (err: { response?: string }) => err.response ?? String(err));

// RFC 5321 4.2.1: 4yz is a transient failure, the client retries; RFC 3463 3.8: X.7.1 "Delivery not
// authorized, message refused". Rspamd answers greylisted mail "451 4.7.1 Try again later".
const DEFERRED = /^451 4\.7\.1 /;

describe('greylisting at RCPT', () => {
  it('defers the first attempt and an early retry, and takes a retry within the window', async () => {
    const g = await start();
    const first = await attempt(g);
    expect(first).toMatch(DEFERRED);
    expect(first).toMatch(/^451 4\.7\.1 Greylisted, please try again in 300 seconds \(reference [0-9A-Z]{15}\)$/);
    clock += 4 * MIN;
    expect(await attempt(g)).toMatch(/^451 4\.7\.1 Greylisted, please try again in 60 seconds/);
    expect(g.sink.messages).toHaveLength(0);
    clock += MIN;
    expect(await attempt(g)).toMatch(/^250 /);
    const [m] = await g.sink.waitFor(1);
    expect(m.to).toEqual(['user@example.net']);
    // Known from now on: the next message goes through at once.
    clock += MIN;
    expect(await attempt(g)).toMatch(/^250 /);
    const verdicts = g.verdicts();
    expect(verdicts.map((v) => [v.action, Object.keys(v.symbols as object)])).toEqual([
      ['tempfail', ['GREYLIST_NEW']], ['tempfail', ['GREYLIST_EARLY']], ['accept', ['GREYLIST_PASSED']], ['accept', ['GREYLIST_KNOWN']],
    ]);
    expect(verdicts[0]).toMatchObject({ stage: 'rcpt', refusedRcpt: 'user@example.net' });
    // No SIZE announced: a deferral counts the mean size of the messages received by then (none for the first two).
    expect(await attempt(g, { to: ['other@example.net'] })).toMatch(DEFERRED);
    const metrics = await g.gateway.core.metrics!.text();
    expect(metrics).toMatch(/^sluice_greylist_deferred_total 3$/m);
    expect(metrics).toMatch(/^sluice_greylist_passed_total 1$/m);
    const mean = Math.round((Number(verdicts[2].size) + Number(verdicts[3].size)) / 2);
    expect(metrics).toContain(`sluice_bytes_not_received_total{cause="greylist"} ${mean}`);
  });

  it('starts again when the retry comes after the window', async () => {
    const g = await start({ greylist: { enabled: true, window: '1h' } });
    expect(await attempt(g)).toMatch(DEFERRED);
    clock += 61 * MIN;
    expect(await attempt(g)).toMatch(/^451 4\.7\.1 Greylisted, please try again in 300 seconds/);
  });

  it('defers only the recipients it does not know, and delivers to the others', async () => {
    const g = await start();
    await attempt(g, { to: ['known@example.net'] });
    clock += 5 * MIN;
    expect(await attempt(g, { to: ['known@example.net'] })).toMatch(/^250 /);
    expect(await attempt(g, { to: ['known@example.net', 'new@example.net'] })).toMatch(/^250 /);
    const delivered = await g.sink.waitFor(2);
    expect(delivered[1].to).toEqual(['known@example.net']);
  });

  it('recognises list mail whose sender carries a changing VERP tag', async () => {
    const g = await start();
    expect(await attempt(g, { from: 'list-bounces+4711-user=example.net@lists.example.org' })).toMatch(DEFERRED);
    clock += 5 * MIN;
    expect(await attempt(g, { from: 'list-bounces+4712-user=example.net@lists.example.org' })).toMatch(/^250 /);
  });

  it('whitelists a client network after 5 passes, as postgrey does', async () => {
    const g = await start();
    for (let i = 1; i <= 5; i++) {
      expect(await attempt(g, { to: [`u${i}@example.net`] })).toMatch(DEFERRED);
      clock += 5 * MIN;
      expect(await attempt(g, { to: [`u${i}@example.net`] })).toMatch(/^250 /);
    }
    // A new sender and recipient from the same /24 (127.0.0.0/24): not greylisted any more.
    expect(await attempt(g, { from: 'someone@else.example', to: ['u6@example.net'] })).toMatch(/^250 /);
    const symbols = g.verdicts().map((v) => Object.keys(v.symbols as object).sort().join(' '));
    expect(symbols.at(-2)).toBe('GREYLIST_AUTOWHITELIST GREYLIST_PASSED');
    expect(symbols.at(-1)).toBe('GREYLIST_WHITELISTED');
    expect(g.logs.some((l) => l.msg === 'greylisting: client auto-whitelisted' && l.client === '127.0.0.0/24')).toBe(true);
  });

  it('does not greylist allowlisted networks', async () => {
    const g = await start({ greylist: { enabled: true, skipNetworks: ['127.0.0.0/8'] } });
    expect(await attempt(g)).toMatch(/^250 /);
    expect(g.verdicts()[0].symbols).toEqual({ GREYLIST_SKIPPED: 0 });
  });

  it('fails open when the store is down: the mail is taken with GREYLIST_ERROR and a log line', async () => {
    redis = await startRedisServer();
    const g = await start({ store: { backend: 'redis', url: redis.url, prefix: `greylist-down:${process.pid}:` } });
    expect(await attempt(g)).toMatch(DEFERRED);
    await redis.stop();
    expect(await attempt(g)).toMatch(/^250 /);
    await g.sink.waitFor(1);
    expect(g.verdicts().at(-1)).toMatchObject({ action: 'accept', symbols: { GREYLIST_ERROR: 0 } });
    expect(g.logs.some((l) => l.msg === 'check failed' && l.check === 'greylist' && l.level === 40)).toBe(true);
  });

  it('shares its state between gateways on one Redis', async () => {
    const prefix = `greylist-shared:${process.pid}:`;
    const store = { backend: 'redis' as const, url: inject('redisUrl'), prefix };
    const a = await start({ store });
    const b = await startTestGateway({ greylist: { enabled: true }, store }, { now: () => clock });
    try {
      expect(await attempt(a)).toMatch(DEFERRED);
      clock += 5 * MIN;
      // The retry reaches the other node, as MX fallbacks do.
      expect(await attempt(b)).toMatch(/^250 /);
    } finally {
      await b.stop();
    }
  });

  it('skips clients whose forward-confirmed reverse name is in greylist.skipDomains, and only those', async () => {
    dns = await startDnsServer({ zone: {
      '9.0.0.127.in-addr.arpa': { PTR: ['mail-1.bigsender.example'] },
      'mail-1.bigsender.example': { A: ['127.0.0.9'] },
      // Claims the name in its PTR, but the name does not lead back to it.
      '10.0.0.127.in-addr.arpa': { PTR: ['mail-2.bigsender.example'] },
      'mail-2.bigsender.example': { A: ['192.0.2.1'] },
    } });
    const g = await start({ greylist: { enabled: true, skipDomains: ['bigsender.example'] }, dns: { servers: [dns.address], timeoutMs: 500 } });
    expect(await attempt(g, { localAddress: '127.0.0.9' })).toMatch(/^250 /);
    expect(g.verdicts()[0].symbols).toEqual({ GREYLIST_SKIPPED: 0 });
    expect(await attempt(g, { localAddress: '127.0.0.10' })).toMatch(DEFERRED);
  });

  it('with skipSpf, matches an SPF-passing sender by its domain, so a retry from another network passes', async () => {
    dns = await startDnsServer({ zone: { 'origin.example': { TXT: ['v=spf1 ip4:127.0.0.0/8 -all'] } } });
    const dnsConfig = { servers: [dns.address], timeoutMs: 500 };
    const g = await start({ greylist: { enabled: true, skipSpf: true }, checks: { auth: true }, dns: dnsConfig });
    expect(await attempt(g, { localAddress: '127.0.0.1' })).toMatch(DEFERRED);
    clock += 5 * MIN;
    expect(await attempt(g, { localAddress: '127.0.1.5' })).toMatch(/^250 /);
    expect(g.verdicts().at(-1)?.symbols).toMatchObject({ GREYLIST_PASSED: 0, SPF_PASS: -0.5 });
    await g.stop();
    // Without it, the other network is a new triplet.
    gw = await startTestGateway({ greylist: { enabled: true }, checks: { auth: true }, dns: dnsConfig }, { now: () => clock });
    expect(await attempt(gw, { localAddress: '127.0.0.1' })).toMatch(DEFERRED);
    clock += 5 * MIN;
    expect(await attempt(gw, { localAddress: '127.0.1.5' })).toMatch(DEFERRED);
  });
});

describe('greylisting on score (stage: data)', () => {
  it('takes clean mail at once and defers, at the end of DATA, mail scoring greylist.minScore or more', async () => {
    const g = await start({ greylist: { enabled: true, stage: 'data', minScore: 4 }, scores: { GTUBE: 6 } });
    expect(await attempt(g)).toMatch(/^250 /);
    const spammy = { raw: message({ body: `Buy now\r\n${GTUBE}\r\n` }), from: 'promo@origin.example' };
    const first = await g.send(spammy).then((r) => r.response, (e: { response: string }) => e.response);
    expect(first).toMatch(/^451 4\.7\.1 Greylisted, please try again in 300 seconds/);
    expect(g.verdicts().at(-1)).toMatchObject({ action: 'tempfail', symbols: { GTUBE: 6, GREYLIST_NEW: 0 } });
    expect(g.verdicts().at(-1)?.stage).toBeUndefined();
    clock += 5 * MIN;
    expect((await g.send(spammy)).response).toMatch(/^250 /);
    expect(g.verdicts().at(-1)).toMatchObject({ action: 'tag', symbols: { GREYLIST_PASSED: 0 } });
    await g.sink.waitFor(2);
  });
});
