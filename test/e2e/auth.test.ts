// Authentication end to end: a real gateway, a real DNS server on loopback, nodemailer clients connecting
// from different loopback addresses (127.0.0.1 is allowed by the test domain's SPF, 127.0.0.5 is not).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { authZone, message, rsaKey, sign, type TestKey } from '../helpers/dkim.ts';

const DOMAIN = 'auth.example';
const AUTHSERV = 'mx.test.example';

let key: TestKey;
let dns: DnsTestServer;
let gw: TestGateway;

// DMARC enforcement reaches the scorer through the composition root (authForceRules merged into `force`).

beforeAll(async () => {
  key = rsaKey();
  dns = await startDnsServer({ zone: authZone(DOMAIN, key) });
  gw = await startTestGateway({
    dns: { servers: [dns.address], timeoutMs: 500 },
    // Small, so that a test message can be larger: authentication must still read all of it.
    checks: { auth: true, dnsbl: false, uribl: false, bayes: false, client: false, maxScanSize: 8192 },
  });
});

afterAll(async () => {
  await gw?.stop();
  await dns?.stop();
});

type SmtpFailure = { responseCode?: number; response?: string };
const failureOf = (p: Promise<unknown>) => p.then(() => undefined, (e: SmtpFailure) => e);

/** The header block of a relayed message, unfolded. */
function headersOf(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ').split('\r\n');
}
const authResults = (raw: Buffer) => headersOf(raw).filter((h) => /^Authentication-Results:/i.test(h));

describe('authentication through the gateway', () => {
  it('a DKIM-signed message from an address the SPF allows passes SPF, DKIM and DMARC', async () => {
    const raw = await sign(message({ from: `Alice <alice@${DOMAIN}>` }), DOMAIN, 'sel', key);
    const before = gw.sink.messages.length;
    const { response } = await gw.send({ from: `alice@${DOMAIN}`, raw, localAddress: '127.0.0.1' });
    expect(response).toMatch(/^250/);
    const [relayed] = (await gw.sink.waitFor(before + 1)).slice(before);
    const results = authResults(relayed.raw);
    expect(results).toHaveLength(1);
    expect(results[0]).toContain(`Authentication-Results: ${AUTHSERV};`);
    expect(results[0]).toMatch(/spf=pass [^;]*smtp\.mailfrom=auth\.example/);
    expect(results[0]).toMatch(/dkim=pass header\.d=auth\.example header\.s=sel/);
    expect(results[0]).toMatch(/dmarc=pass [^;]*header\.from=auth\.example/);
  });

  it('a signed message larger than checks.maxScanSize passes DKIM: authentication reads all of it', async () => {
    const body = Array.from({ length: 4000 }, (_, i) => `line ${i} of a long report`).join('\r\n') + '\r\n';
    const raw = await sign(message({ from: `Alice <alice@${DOMAIN}>`, body }), DOMAIN, 'sel', key);
    expect(raw.length).toBeGreaterThan(10 * 8192);
    const before = gw.sink.messages.length;
    await gw.send({ from: `alice@${DOMAIN}`, raw, localAddress: '127.0.0.1' });
    const [relayed] = (await gw.sink.waitFor(before + 1)).slice(before);
    expect(authResults(relayed.raw)[0]).toMatch(/dkim=pass header\.d=auth\.example/);
    expect(relayed.raw.toString('latin1')).toContain('line 3999 of a long report');
  });

  it('the same domain unsigned from another address fails DMARC and is refused under p=reject', async () => {
    const before = gw.sink.messages.length;
    const err = await failureOf(gw.send({ from: `alice@${DOMAIN}`, raw: message({ from: `alice@${DOMAIN}` }), localAddress: '127.0.0.5' }));
    expect(err?.responseCode).toBe(550);
    expect(err?.response).toMatch(/5\.7\.1/);
    expect(err?.response).toMatch(/DMARC/);
    expect(gw.sink.messages.length).toBe(before);
    const verdict = gw.verdicts().filter((v) => v.ip === '127.0.0.5').at(-1) as { action: string; symbols: Record<string, number> };
    expect(verdict.action).toBe('reject');
    expect(Object.keys(verdict.symbols)).toEqual(expect.arrayContaining(['SPF_FAIL', 'DKIM_NONE', 'DMARC_FAIL', 'DMARC_POLICY_REJECT']));
  });

  it('a body altered after signing gives dkim=fail', async () => {
    const signed = await sign(message({ from: `alice@${DOMAIN}`, body: 'Pay invoice 100.\r\n' }), DOMAIN, 'sel', key);
    const altered = Buffer.from(signed.toString('latin1').replace('Pay invoice 100.', 'Pay invoice 900.'), 'latin1');
    const before = gw.sink.messages.length;
    await gw.send({ from: `alice@${DOMAIN}`, raw: altered, localAddress: '127.0.0.1' });
    const [relayed] = (await gw.sink.waitFor(before + 1)).slice(before);
    expect(authResults(relayed.raw)[0]).toMatch(/dkim=fail [^;]*header\.d=auth\.example header\.s=sel/);
  });

  it('a forged Authentication-Results claiming our authserv-id is gone', async () => {
    const forged = message({
      from: `alice@${DOMAIN}`,
      extraHeaders: [`Authentication-Results: ${AUTHSERV}; dkim=pass header.d=bank.example; dmarc=pass header.from=bank.example`],
    });
    const raw = await sign(forged, DOMAIN, 'sel', key);
    const before = gw.sink.messages.length;
    await gw.send({ from: `alice@${DOMAIN}`, raw, localAddress: '127.0.0.1' });
    const [relayed] = (await gw.sink.waitFor(before + 1)).slice(before);
    const results = authResults(relayed.raw);
    expect(results).toHaveLength(1);
    expect(results[0]).not.toContain('bank.example');
  });
});

describe('early SPF refusal', () => {
  it('with spf.rejectFail an SPF fail is refused at RCPT, before the body is sent', async () => {
    const gateway = await startTestGateway({
      dns: { servers: [dns.address], timeoutMs: 500 },
      checks: { auth: true, dnsbl: false, uribl: false, bayes: false, client: false },
      spf: { rejectFail: true },
    });
    try {
      const err = await failureOf(gateway.send({ from: `alice@${DOMAIN}`, raw: message({ from: `alice@${DOMAIN}` }), localAddress: '127.0.0.5' }));
      expect(err?.responseCode).toBe(550);
      expect(err?.response).toMatch(/SPF/);
      expect(gateway.sink.messages).toHaveLength(0);
      expect(gateway.verdicts().at(-1)).toMatchObject({ action: 'reject', stage: 'rcpt' });
    } finally {
      await gateway.stop();
    }
  });
});

describe('with DNS down', () => {
  it('the reply stays bounded and is never a 5xx', async () => {
    const down = await startDnsServer({ zone: {} });
    down.behaviour.drop = true;
    const gateway = await startTestGateway({
      dns: { servers: [down.address], timeoutMs: 300 },
      checks: { auth: true, dnsbl: false, uribl: false, bayes: false, client: false },
    });
    try {
      const t0 = Date.now();
      const outcome = await gateway
        .send({ from: `alice@${DOMAIN}`, raw: message({ from: `alice@${DOMAIN}` }), localAddress: '127.0.0.1' })
        .then((r) => r.response, (e: SmtpFailure) => e.response ?? String(e));
      const took = Date.now() - t0;
      expect(outcome).toMatch(/^[24]\d\d/);
      expect(took).toBeLessThan(5000);
      const verdict = gateway.verdicts().at(-1) as { symbols: Record<string, number> };
      expect(Object.keys(verdict.symbols)).toEqual(expect.arrayContaining(['SPF_TEMPERROR', 'DMARC_TEMPERROR']));
    } finally {
      await gateway.stop();
      await down.stop();
    }
  });
});
