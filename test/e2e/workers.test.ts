// The data stage on worker threads (`checks.workers`), end to end: a real gateway, a real DNS server on
// loopback, DKIM-signed mail and listed links, all checked on a worker while SMTP stays on the main thread.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { GTUBE, message as plainMessage, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { authZone, message, rsaKey, sign, type TestKey } from '../helpers/dkim.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ScanWorkerPool } from '../../src/scan/worker-pool.ts';
import { Pipeline } from '../../src/scan/pipeline.ts';
import { memoryLog } from '../checks/dnsbl/helpers.ts';

const DOMAIN = 'auth.example';
const SELF_TEST = { listed: 'test', unlisted: 'invalid' };

let key: TestKey;
let dns: DnsTestServer;
let gw: TestGateway;

beforeAll(async () => {
  key = rsaKey();
  dns = await startDnsServer({
    zone: {
      ...authZone(DOMAIN, key),
      'test.dbl.test': { A: ['127.0.1.2'] },
      'evil.example.dbl.test': { A: ['127.0.1.2'] },
      // A list that answers for everything fails its self-test on the main thread; the worker must skip it too.
      '*.lying.test': { A: ['127.0.1.2'] },
    },
  });
  gw = await startTestGateway({
    dns: { servers: [dns.address], timeoutMs: 500 },
    checks: { auth: true, dnsbl: false, uribl: true, bayes: false, client: false, workers: 1 },
    uribl: {
      zones: [
        // URIBL_UNWEIGHTED has no weight in `scores`: a warning, said once.
        { zone: 'dbl.test', codes: { '127.0.1.2': 'URIBL_TEST', '127.0.1.9': 'URIBL_UNWEIGHTED' }, mask: {}, blockedCodes: [], selfTest: SELF_TEST },
        { zone: 'lying.test', codes: { '127.0.1.2': 'URIBL_LYING' }, mask: {}, blockedCodes: [], selfTest: SELF_TEST },
      ],
    },
    scores: { URIBL_TEST: 3, URIBL_LYING: 100 },
  });
});

afterAll(async () => {
  await gw?.stop();
  await dns?.stop();
});

const headerOf = (raw: Buffer, name: string) =>
  raw.toString('latin1').split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ').split('\r\n').filter((h) => h.toLowerCase().startsWith(`${name.toLowerCase()}:`));
const lastVerdict = () => gw.verdicts().at(-1) as { action: string; symbols: Record<string, number> };

describe('the data stage on a worker thread', () => {
  it('starts its workers with the gateway', () => {
    expect(gw.logs.find((l) => l.msg === 'scan workers started')).toMatchObject({ workers: 1 });
  });

  it('warns once, not again from each worker, of a list symbol without a weight', () => {
    const warnings = gw.logs.filter((l) => l.msg === 'blocklist symbols without a weight in `scores` score 0');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ symbols: ['URIBL_UNWEIGHTED'] });
  });

  it('checks DKIM and DMARC there and writes the results into our header', async () => {
    const raw = await sign(message({ from: `Alice <alice@${DOMAIN}>` }), DOMAIN, 'sel', key);
    const before = gw.sink.messages.length;
    expect((await gw.send({ from: `alice@${DOMAIN}`, raw, localAddress: '127.0.0.1' })).response).toMatch(/^250/);
    const [relayed] = (await gw.sink.waitFor(before + 1)).slice(before);
    const [results] = headerOf(relayed.raw, 'Authentication-Results');
    expect(results).toMatch(/spf=pass [^;]*smtp\.mailfrom=auth\.example/);
    expect(results).toMatch(/dkim=pass header\.d=auth\.example header\.s=sel/);
    expect(results).toMatch(/dmarc=pass [^;]*header\.from=auth\.example/);
    // SPF was evaluated once, at MAIL FROM on the main thread: the worker's DMARC took that outcome.
    expect(dns.queries.filter((q) => q.name === DOMAIN && q.type === 'TXT')).toHaveLength(1);
  });

  it('refuses under DMARC p=reject what the worker found unsigned', async () => {
    const err = await gw.send({ from: `alice@${DOMAIN}`, raw: message({ from: `alice@${DOMAIN}` }), localAddress: '127.0.0.5' })
      .then(() => undefined, (e: { responseCode?: number; response?: string }) => e);
    expect(err?.responseCode).toBe(550);
    expect(err?.response).toMatch(/DMARC/);
    expect(Object.keys(lastVerdict().symbols)).toEqual(expect.arrayContaining(['SPF_FAIL', 'DKIM_NONE', 'DMARC_POLICY_REJECT']));
  });

  it('looks up links in the URI lists there, skipping a list the main thread switched off', async () => {
    expect(gw.logs.find((l) => l.msg === 'blocklist failed its self-test and is switched off')).toMatchObject({ list: 'lying.test' });
    const before = gw.sink.messages.length;
    await gw.send({ raw: plainMessage({ body: 'See https://www.evil.example/offer now.' }) });
    const [relayed] = (await gw.sink.waitFor(before + 1)).slice(before);
    expect(lastVerdict().symbols).toMatchObject({ URIBL_TEST: 3 });
    expect(lastVerdict().symbols).not.toHaveProperty('URIBL_LYING');
    expect(headerOf(relayed.raw, 'X-Spam-Status')[0]).toMatch(/tests=.*URIBL_TEST/);
  });

  it('finds GTUBE there', async () => {
    const err = await gw.send({ raw: plainMessage({ body: GTUBE }) }).then(() => undefined, (e: { responseCode?: number }) => e);
    expect(err?.responseCode).toBe(550);
    expect(lastVerdict()).toMatchObject({ action: 'reject', symbols: { GTUBE: 1000 } });
  });

  it('hands the worker\'s log lines to the gateway\'s log', async () => {
    await gw.send({ raw: 'Subject: no body at all\r\n' });
    expect(gw.logs.some((l) => l.component === 'scan-worker')).toBe(true);
  });
});

describe.each(['embedded', 'redis'] as const)('Bayes on a worker thread, %s store', (backend) => {
  it('reads through its own store connection what the gateway learned, and sees later learning', async () => {
    const store = backend === 'redis' ? { backend, url: inject('redisUrl'), prefix: `workers:${process.pid}:` } : {};
    const g = await startTestGateway({ store, checks: { bayes: true, workers: 1 }, bayes: { minLearns: 1, minWords: 1 } });
    try {
      const spam = (i: number) => plainMessage({ subject: `cheap pills ${i}`, body: `Buy cheap pills now, best pills price, order pills today ${i}.` });
      const ham = (i: number) => plainMessage({ subject: `meeting notes ${i}`, body: `The project meeting moved to Tuesday; agenda and notes attached ${i}.` });
      for (let i = 0; i < 3; i++) {
        await g.gateway.core.learnSpam!(Buffer.from(spam(i)));
        await g.gateway.core.learnHam!(Buffer.from(ham(i)));
      }
      await g.send({ raw: spam(9) });
      expect(Object.keys(g.verdicts().at(-1)!.symbols as object)).toContain('BAYES_SPAM');
      // Read once by the worker, then learned on the main thread: the worker's cache must not hide the new counts.
      const fresh = plainMessage({ subject: 'quarterly invoice', body: 'Quarterly invoice for the hosting contract, due in thirty days.' });
      await g.send({ raw: fresh });
      expect(Object.keys(g.verdicts().at(-1)!.symbols as object)).not.toContain('BAYES_SPAM');
      await g.gateway.core.learnSpam!(Buffer.from(fresh));
      await g.send({ raw: fresh });
      expect(Object.keys(g.verdicts().at(-1)!.symbols as object)).toContain('BAYES_SPAM');
    } finally {
      await g.stop();
    }
  });
});

describe('a stuck scan worker', () => {
  it('is replaced, and the scans it held end as errors that the pipeline turns into <FAMILY>_ERROR', async () => {
    const config = parseConfig({ checks: { auth: false, dnsbl: false, uribl: false, bayes: false, client: false }, store: { backend: 'embedded', path: mkdtempSync(join(tmpdir(), 'sluice-workers-')) } }, 'test');
    const { log, lines } = memoryLog();
    const pool = await ScanWorkerPool.start({
      config, size: 1, log, stuckAfterMs: 1, context: async () => ({ dnsUsed: 0, disabledZones: [] }),
    });
    try {
      const big = Buffer.from(`Subject: big\r\n\r\n${'many words in a long body\r\n'.repeat(200_000)}`);
      const envelope = { clientIp: '127.0.0.1', helo: 'h', mailFrom: 'a@b.example', rcptTo: ['c@d.example'] };
      const signal = new AbortController().signal;
      await expect(pool.run('T1', envelope, big, signal)).rejects.toThrow(/longer than 1 ms/);
      expect(lines.some((l) => l.msg === 'scan worker stuck: replacing it')).toBe(true);
      await expect.poll(() => pool.size, { timeout: 10_000 }).toBe(1);

      const pipeline = new Pipeline({
        checks: [{ name: 'gtube', family: 'GTUBE', stage: 'data', run: async () => [] }],
        policy: { scores: {}, groupCaps: {}, force: {}, actions: config.actions },
        timeoutMs: 1000,
        log,
      });
      const outcome = await pipeline.runRemoteData(pool, 'T2', envelope, big, log, signal);
      expect(outcome.hits).toEqual([{ name: 'GTUBE_ERROR', detail: 'scan worker' }]);
    } finally {
      await pool.close();
    }
  });
});
