// `sluice doctor`'s checks against a deployment built here: a loopback DNS server answering from zone
// literals, a real downstream (the sink), real files and a real Redis. Each failing case breaks one
// thing and expects that check, and only that one, to say so.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { runDoctor } from '../../src/doctor/index.ts';
import { adminCheck } from '../../src/doctor/admin.ts';
import { clockCheck, greetingDate } from '../../src/doctor/clock.ts';
import { listenerCheck } from '../../src/doctor/listener.ts';
import { LOW_SPACE_BYTES, quarantineCheck, spaceStatus } from '../../src/doctor/quarantine.ts';
import { storeChecks } from '../../src/doctor/store.ts';
import type { CheckResult } from '../../src/doctor/result.ts';
import { parseConfig } from '../../src/config/load.ts';
import {
  ADDRESS, DOMAIN_LISTED, DOMAIN_UNLISTED, HOSTNAME, IP_LISTED, IP_UNLISTED, eximDate, startDeployment, type Deployment,
} from '../helpers/deployment.ts';
import { freePort, installedRedisVersion } from '../helpers/redis-server.ts';
import { startSink } from '../helpers/sink.ts';
import { startTestGateway } from '../helpers/gateway.ts';

const ALL_OK = {
  store: 'ok', quarantine: 'ok', listener: 'ok', admin: 'ok', resolver: 'ok', hostname: 'ok',
  'dnsbl:zen.doctor.test': 'ok', 'uribl:dbl.doctor.test': 'ok', downstream: 'ok', starttls: 'ok', clock: 'ok',
};

const statuses = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r.status]));
const find = (results: CheckResult[], name: string) => results.find((r) => r.name === name)!;

// A run waits up to a few seconds where a test makes something silent; a loaded machine adds to it.
vi.setConfig({ testTimeout: 30_000 });

let d: Deployment;
beforeEach(async () => {
  d = await startDeployment();
});
afterEach(async () => {
  await d.stop();
});

describe('sluice doctor on a good deployment', () => {
  it('finds every check ok, asks the RFC 5782 test entries, and sends nothing', async () => {
    const results = await runDoctor(d.config());
    expect(statuses(results)).toEqual(ALL_OK);
    expect(results.every((r) => r.fix === undefined)).toBe(true);
    const asked = d.dns.queries.map((q) => `${q.type} ${q.name}`);
    expect(asked).toEqual(expect.arrayContaining([`A ${IP_LISTED}`, `A ${IP_UNLISTED}`, `A ${DOMAIN_LISTED}`, `A ${DOMAIN_UNLISTED}`]));
    expect(find(results, 'hostname').detail).toBe(`${HOSTNAME} → ${ADDRESS}, and the PTR of each names it again (forward-confirmed)`);
    expect(find(results, 'downstream').detail).toContain('takes RCPT TO postmaster@a.doctor.test, postmaster@b.doctor.test');
    expect(find(results, 'starttls').detail).toMatch(/offers STARTTLS; the handshake agreed on TLSv1\.[23]/);
    expect(find(results, 'clock').detail).toMatch(/the downstream's greeting .* \(\d+ s apart\)/);
    expect(d.sink.messages).toEqual([]);
  });
});

describe('sluice doctor finds what is broken, one thing at a time', () => {
  it('downstream down: fail, and nothing said about its STARTTLS', async () => {
    await d.sink.stop();
    const results = await runDoctor(d.config());
    const { starttls: _, ...rest } = ALL_OK;
    expect(statuses(results)).toEqual({ ...rest, downstream: 'fail' });
    expect(find(results, 'downstream')).toMatchObject({ detail: expect.stringContaining('not reachable: ECONNREFUSED'), fix: expect.stringContaining('relay.host') });
    expect(find(results, 'clock').detail).toContain('no greeting from the downstream to compare with');
  });

  it("downstream refuses one domain's postmaster: fail naming it and the reply", async () => {
    // Postfix's refusal of an unknown recipient.
    d.sink.rcptReplies.set('postmaster@b.doctor.test', { code: 550, text: '5.1.1 <postmaster@b.doctor.test>: Recipient address rejected: User unknown' });
    const results = await runDoctor(d.config());
    expect(statuses(results)).toEqual({ ...ALL_OK, downstream: 'fail' });
    expect(find(results, 'downstream').detail).toBe(
      '127.0.0.1:' + d.sink.port + ' refuses RCPT TO:<postmaster@b.doctor.test> 550 5.1.1 <postmaster@b.doctor.test>: Recipient address rejected: User unknown',
    );
  });

  it('downstream without STARTTLS: warn, and the run still passes', async () => {
    const plain = await startSink();
    try {
      const results = await runDoctor(d.config({ relay: { host: '127.0.0.1', port: plain.port } }));
      expect(statuses(results)).toEqual({ ...ALL_OK, starttls: 'warn' });
      expect(find(results, 'starttls')).toMatchObject({ detail: expect.stringContaining('does not offer STARTTLS'), fix: expect.any(String) });
    } finally {
      await plain.stop();
    }
  });

  it('downstream whose STARTTLS handshake fails: fail, as the relay could not deliver', async () => {
    // Offers STARTTLS and says 220 to it, then answers the TLS client hello in plain text.
    const broken = net.createServer((socket) => {
      socket.write('220 broken.example ESMTP\r\n');
      socket.on('data', (chunk: Buffer) => {
        const line = chunk.toString('latin1');
        if (line.startsWith('EHLO')) socket.write('250-broken.example\r\n250 STARTTLS\r\n');
        else if (line.startsWith('STARTTLS')) socket.write('220 2.0.0 Ready to start TLS\r\n');
        else socket.end('500 5.5.1 this is not TLS\r\n');
      });
    });
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const port = (broken.address() as net.AddressInfo).port;
    try {
      const results = await runDoctor(d.config({ relay: { host: '127.0.0.1', port } }));
      const { starttls: _, ...rest } = ALL_OK;
      expect(statuses(results)).toEqual({ ...rest, downstream: 'fail' });
      expect(find(results, 'downstream')).toMatchObject({
        detail: expect.stringContaining('offers STARTTLS, which then fails'),
        fix: expect.stringContaining("repair the downstream's TLS set-up"),
      });
    } finally {
      await new Promise((resolve) => broken.close(resolve));
    }
  });

  // Spamhaus, "DNSBL return codes: technical update" (https://www.spamhaus.org/news/article/788/):
  // "127.255.255.254 Any Query via public/open resolver", "127.255.255.255 Any Excessive number of queries".
  for (const code of ['127.255.255.254', '127.255.255.255']) {
    it(`a blocklist answering ${code}: fail, with the advice to run a resolver of our own`, async () => {
      d.dns.set(IP_LISTED, { A: [code] });
      const results = await runDoctor(d.config());
      expect(statuses(results)).toEqual({ ...ALL_OK, 'dnsbl:zen.doctor.test': 'fail' });
      expect(find(results, 'dnsbl:zen.doctor.test')).toMatchObject({
        detail: expect.stringContaining(`answers ${code}`),
        fix: expect.stringMatching(/resolver of your own \(unbound\) on this machine instead of a public one/),
      });
    });
  }

  it('a blocklist that does not list 127.0.0.2: fail', async () => {
    d.dns.set(IP_LISTED, undefined);
    const results = await runDoctor(d.config());
    expect(statuses(results)).toEqual({ ...ALL_OK, 'dnsbl:zen.doctor.test': 'fail' });
    expect(find(results, 'dnsbl:zen.doctor.test').detail).toContain('test entry 127.0.0.2 is not listed');
  });

  it('a domain list that lists `invalid` (a wildcard): fail', async () => {
    d.dns.set('*.dbl.doctor.test', { A: ['127.0.1.2'] });
    const results = await runDoctor(d.config());
    expect(statuses(results)).toEqual({ ...ALL_OK, 'uribl:dbl.doctor.test': 'fail' });
    expect(find(results, 'uribl:dbl.doctor.test').detail).toContain('lists invalid, which must not be listed');
  });

  it('hostname whose address has another PTR, or none: warn, asking the address owner', async () => {
    d.dns.set('25.2.0.192.in-addr.arpa', { PTR: ['host-192-0-2-25.isp.example'] });
    let results = await runDoctor(d.config());
    expect(statuses(results)).toEqual({ ...ALL_OK, hostname: 'warn' });
    expect(find(results, 'hostname')).toMatchObject({
      detail: `${HOSTNAME} → ${ADDRESS}, but ${ADDRESS} has PTR host-192-0-2-25.isp.example`,
      fix: expect.stringContaining(`owner of each address (your hosting provider or ISP) to set its PTR record to ${HOSTNAME}`),
    });
    d.dns.set('25.2.0.192.in-addr.arpa', undefined);
    results = await runDoctor(d.config());
    expect(find(results, 'hostname')).toMatchObject({ status: 'warn', detail: expect.stringContaining(`${ADDRESS} has no PTR`) });
  });

  it('hostname that does not resolve: fail', async () => {
    d.dns.set(HOSTNAME, undefined);
    const results = await runDoctor(d.config());
    expect(find(results, 'hostname')).toMatchObject({ status: 'fail', detail: `${HOSTNAME} has no A or AAAA record` });
    // A negative answer is still an answer.
    expect(find(results, 'resolver').status).toBe('ok');
  });

  it('SMTP port held by another program: fail, quoting its greeting', async () => {
    const other = net.createServer((socket) => socket.resume().end('220 other.example ESMTP Postfix (Debian/GNU)\r\n'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as net.AddressInfo).port;
    try {
      const results = await runDoctor(d.config({ smtp: { host: '127.0.0.1', port, hostname: HOSTNAME } }));
      expect(statuses(results)).toEqual({ ...ALL_OK, listener: 'fail' });
      expect(find(results, 'listener')).toMatchObject({
        detail: `127.0.0.1:${port} is held by another program (it greets "220 other.example ESMTP Postfix (Debian/GNU)")`,
        fix: expect.stringContaining('set smtp.port to a free port'),
      });
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('SMTP port held by a running Sluice of ours: ok', async () => {
    const gateway = await startTestGateway({ log: { level: 'silent' } });
    try {
      const result = await listenerCheck({ ...gateway.config, smtp: { ...gateway.config.smtp, port: gateway.port } });
      expect(result).toMatchObject({ status: 'ok', detail: `127.0.0.1:${gateway.port} is held by a running Sluice (it greets "220 mx.test.example ESMTP Sluice")` });
    } finally {
      await gateway.stop();
    }
  });

  it('quarantine folder that cannot be created (its parent is a regular file): fail', async () => {
    // Root writes anywhere, but nobody makes a folder under a file.
    const file = join(d.dir, 'not-a-folder');
    writeFileSync(file, '');
    const results = await runDoctor(d.config({ quarantine: { dir: join(file, 'quarantine') } }));
    expect(statuses(results)).toEqual({ ...ALL_OK, quarantine: 'fail' });
    expect(find(results, 'quarantine').detail).toContain('cannot write: ENOTDIR');
  });

  it('embedded store that cannot be opened: fail', async () => {
    const file = join(d.dir, 'not-a-folder');
    writeFileSync(file, '');
    const results = await runDoctor(d.config({ store: { path: join(file, 'store') } }));
    expect(statuses(results)).toEqual({ ...ALL_OK, store: 'fail' });
    expect(find(results, 'store').detail).toMatch(/cannot open: /);
  });

  it('a dead deployment (DNS silent, downstream gone) is reported within a few seconds', async () => {
    d.dns.behaviour.drop = true;
    await d.sink.stop();
    const started = Date.now();
    const results = await runDoctor(d.config({ dns: { servers: [d.dns.address], timeoutMs: 60_000 }, relay: { host: '127.0.0.1', port: d.sink.port, timeoutMs: 60_000 } }));
    const elapsed = Date.now() - started;
    expect(statuses(results)).toMatchObject({ resolver: 'fail', hostname: 'fail', 'dnsbl:zen.doctor.test': 'fail', 'uribl:dbl.doctor.test': 'fail', downstream: 'fail' });
    expect(find(results, 'resolver').detail).toContain('ETIMEOUT');
    expect(elapsed).toBeLessThan(6000);
  });
});

describe('doctor checks on their own', () => {
  it('quarantine on the Redis store: held messages are in Redis, the folder is not asked for', async () => {
    const file = join(d.dir, 'not-a-folder');
    writeFileSync(file, '');
    const config = d.config({ store: { backend: 'redis', url: inject('redisUrl') }, quarantine: { dir: join(file, 'quarantine') } });
    expect(await quarantineCheck(config)).toMatchObject({ status: 'ok', detail: 'held messages are kept in Redis with the store, where every node reaches them' });
  });

  it('store: the Redis backend takes a probe key and keeps none; a Redis that is down fails fast', async () => {
    const prefix = `test:doctor:${process.pid}:`;
    const config = d.config({ store: { backend: 'redis', url: inject('redisUrl'), prefix } });
    const [written, topology] = await storeChecks(config);
    expect(written).toMatchObject({ status: 'ok', detail: expect.stringContaining('wrote, read back and deleted a probe key') });
    expect(topology).toEqual({ name: 'topology', status: 'ok', detail: `one Redis ${installedRedisVersion()}, role master, 0 connected replicas` });
    const redis = new Redis(inject('redisUrl'));
    try {
      expect(await redis.keys(`${prefix}probe:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
    const started = Date.now();
    const down = await storeChecks(d.config({ store: { backend: 'redis', url: `redis://127.0.0.1:${await freePort()}`, prefix } }));
    expect(down).toMatchObject([{ status: 'fail', fix: 'start Redis or correct store.url' }]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('store: a password in the Redis URL is never shown', async () => {
    const [result] = await storeChecks(d.config({ store: { backend: 'redis', url: `redis://user:s3cret@127.0.0.1:${await freePort()}`, prefix: 'x:' } }));
    expect(result.detail).not.toContain('s3cret');
  });

  it('quarantine space: full when one message of smtp.maxSize does not fit, low under 1 GiB', () => {
    expect(spaceStatus(10 * 1024 ** 3, 25 * 1024 ** 2)).toBe('ok');
    expect(spaceStatus(LOW_SPACE_BYTES - 1, 25 * 1024 ** 2)).toBe('warn');
    expect(spaceStatus(25 * 1024 ** 2 - 1, 25 * 1024 ** 2)).toBe('fail');
  });

  it('clock: reads the date in an Exim greeting and warns when the clocks are a minute or more apart', async () => {
    // Exim's specification, $tod_full: "A full version of the time and date, for example: Wed, 16 Oct 1995 09:51:40 +0100".
    expect(greetingDate('mx.example ESMTP Exim 4.97 Wed, 16 Oct 1995 09:51:40 +0100')).toBe(Date.UTC(1995, 9, 16, 8, 51, 40));
    expect(greetingDate('mx.example ESMTP Postfix (Debian/GNU)')).toBeUndefined();
    // Whole seconds, as a greeting dates.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const greeted = (time: number) => ({
      address: 'x', accepted: [], refused: [], greetedAt: now, greeting: { code: 220, lines: [`mx.example ESMTP Exim 4.97 ${eximDate(time)}`] },
    });
    expect(clockCheck(now, greeted(now - 3_600_000))).toMatchObject({ status: 'warn', detail: expect.stringContaining('3600 s apart'), fix: expect.stringContaining('NTP') });
    expect(clockCheck(now, greeted(now)).status).toBe('ok');
    // A clock that was never set.
    expect(clockCheck(Date.UTC(1970, 0, 1), { address: 'x', accepted: [], refused: [] }).status).toBe('fail');
  });

  it('admin: off is ok; on a public address warns; a token only in the environment is pointed out', () => {
    const token = 'a-token-of-24-characters';
    expect(adminCheck(parseConfig({})).status).toBe('ok');
    expect(adminCheck(parseConfig({ admin: { enabled: true, token, host: '0.0.0.0' } }))).toMatchObject({ status: 'warn', fix: expect.stringContaining('127.0.0.1') });
    const fromEnv = adminCheck(parseConfig({ admin: { enabled: true, token } }), { SLUICE_ADMIN_TOKEN: token });
    expect(fromEnv).toMatchObject({ status: 'ok', detail: expect.stringContaining('the service needs it in its own environment') });
  });

  it('the listener: a port already bound on a wildcard address is read through loopback', async () => {
    const port = await freePort();
    const holder = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen(port, '0.0.0.0', resolve));
    try {
      const result = await listenerCheck(parseConfig({ smtp: { host: '0.0.0.0', port } }));
      expect(result).toMatchObject({ status: 'fail', detail: `0.0.0.0:${port} is held by another program (it sends no SMTP greeting)` });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

