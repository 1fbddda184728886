// The gateway end to end: real SMTP in (nodemailer or a raw socket), a real downstream sink out.
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { startTestGateway, message, GTUBE, type TestGateway, type Overrides } from '../helpers/gateway.ts';
import { rawSmtp } from '../helpers/raw-smtp.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startSink, type Sink } from '../helpers/sink.ts';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});
const start = async (o: Overrides = {}) => (gw = await startTestGateway(o));

function header(raw: Buffer, name: string): string[] {
  const head = raw.toString('latin1').split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  return head.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(name.toLowerCase() + ':')).map((l) => l.slice(name.length + 1).trim());
}

describe('relay', () => {
  it('relays clean mail with our trace and verdict headers, answering 250 only after the downstream did', async () => {
    const g = await start();
    const reply = await g.send({ raw: message() });
    expect(reply.response).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-Z]{15}/);
    const [m] = await g.sink.waitFor(1);
    expect(m.from).toBe('sender@origin.example');
    expect(m.to).toEqual(['user@example.net']);
    expect(header(m.raw, 'X-Spam-Status')[0]).toMatch(/^No, score=0\.0 required=5\.0 tests=none$/);
    expect(header(m.raw, 'X-Spam-Flag')).toEqual([]);
    expect(header(m.raw, 'Authentication-Results')).toEqual(['mx.test.example; none']);
    expect(header(m.raw, 'Received')[0]).toMatch(/^from client\.test\.example \(\[127\.0\.0\.1\]\) by mx\.test\.example \(Sluice\) with ESMTP id [0-9A-Z]{15} for <user@example\.net>;/);
    const [v] = g.verdicts();
    expect(v).toMatchObject({ action: 'accept', score: 0, from: 'sender@origin.example', rcpt: ['user@example.net'], relayId: 'SINK1', ip: '127.0.0.1', helo: 'client.test.example' });
    expect(typeof v.ms).toBe('number');
    expect(typeof v.size).toBe('number');
  });

  it('removes verdict headers a sender wrote himself, keeping other hosts\' results', async () => {
    const g = await start();
    await g.send({ raw: message({ headers: [
      'X-Spam-Flag: NO',
      'X-Spam-Status: No, score=-100',
      'Authentication-Results: MX.TEST.EXAMPLE; spf=pass smtp.mailfrom=origin.example',
      'Authentication-Results: other.example; dkim=pass',
    ] }) });
    const [m] = await g.sink.waitFor(1);
    expect(header(m.raw, 'X-Spam-Flag')).toEqual([]);
    expect(header(m.raw, 'X-Spam-Status')).toHaveLength(1);
    expect(header(m.raw, 'X-Spam-Status')[0]).toMatch(/^No, score=0\.0/);
    expect(header(m.raw, 'Authentication-Results')).toEqual(['mx.test.example; none', 'other.example; dkim=pass']);
  });

  it('tags mail between the tag and quarantine thresholds', async () => {
    const g = await start({ scores: { GTUBE: 7 } });
    await g.send({ raw: message({ body: GTUBE }) });
    const [m] = await g.sink.waitFor(1);
    expect(header(m.raw, 'X-Spam-Flag')).toEqual(['YES']);
    expect(header(m.raw, 'X-Spam-Score')).toEqual(['7.0']);
    expect(header(m.raw, 'X-Spam-Level')).toEqual(['*******']);
    expect(header(m.raw, 'X-Spam-Status')[0]).toBe('Yes, score=7.0 required=5.0 tests=GTUBE');
    expect(g.verdicts()[0]).toMatchObject({ action: 'tag', score: 7 });
  });

  it('refuses GTUBE with 550 5.7.1 and a reference, never naming the symbols', async () => {
    const g = await start();
    const err = await g.send({ raw: message({ body: `Test\r\n${GTUBE}\r\n` }) }).then(() => null, (e) => e);
    expect(err?.responseCode).toBe(550);
    expect(err.response).toMatch(/^550 5\.7\.1 Message refused as spam \(reference [0-9A-Z]{15}\)$/);
    expect(err.response).not.toContain('GTUBE');
    expect(g.sink.messages).toHaveLength(0);
    expect(g.verdicts()[0]).toMatchObject({ action: 'reject', symbols: { GTUBE: 1000 } });
  });

  it('never relays for domains it does not serve', async () => {
    const g = await start();
    const err = await g.send({ to: ['victim@elsewhere.example'], raw: message() }).then(() => null, (e) => e);
    expect(err?.response).toMatch(/^550 5\.7\.1 Relaying denied/);
    const c = await rawSmtp(g.port);
    await c.reply();
    await c.command('EHLO x.example\r\n');
    await c.command('MAIL FROM:<a@b.example>\r\n');
    expect(await c.command('RCPT TO:<user@example.net.evil.example>\r\n')).toMatch(/^550 5\.7\.1/);
    expect(await c.command('RCPT TO:<user@EXAMPLE.NET>\r\n')).toMatch(/^250/);
    expect(await c.command('RCPT TO:<"user@example.net"@evil.example>\r\n')).toMatch(/^5\d\d/);
    c.close();
    expect(g.sink.messages).toHaveLength(0);
  });

  it('takes RCPT TO:<Postmaster> without a domain (RFC 5321 4.5.1), for the postmaster of its first domain', async () => {
    const g = await start({ domains: ['example.net', 'other.example'] });
    const c = await rawSmtp(g.port);
    await c.reply();
    await c.command('EHLO x.example\r\n');
    await c.command('MAIL FROM:<a@origin.example>\r\n');
    expect(await c.command('RCPT TO:<Postmaster>\r\n')).toMatch(/^250 /);
    await c.command('DATA\r\n');
    expect(await c.command(`${message()}.\r\n`)).toMatch(/^250 /);
    c.close();
    expect((await g.sink.waitFor(1))[0].to).toEqual(['postmaster@example.net']);
  });

  it('serves an internationalised domain in either form, and relays its ASCII form', async () => {
    // Configured in Unicode; smtp-server decodes an A-label it receives to Unicode too.
    const g = await start({ domains: ['example.net', 'Bücher.example'] });
    await g.send({ to: ['user@xn--bcher-kva.example'], raw: message() });
    // SMTPUTF8 (nodemailer asks for it when an address is not ASCII; the gateway offers it).
    await g.send({ to: ['anna@bücher.example'], raw: message() });
    expect(g.verdicts().map((v) => v.rcpt)).toEqual([['user@xn--bcher-kva.example'], ['anna@xn--bcher-kva.example']]);
    // Relayed in ASCII form, so without SMTPUTF8, which a downstream may not offer (the sink decodes it again).
    const relayed = await g.sink.waitFor(2);
    expect(relayed.map((m) => [m.to, m.smtputf8])).toEqual([[['user@bücher.example'], false], [['anna@bücher.example'], false]]);
  });

  it('takes envelope senders that real MTAs send though RFC 5321 forbids them, as Postfix does', async () => {
    const g = await start();
    const c = await rawSmtp(g.port);
    await c.reply();
    await c.command('EHLO x.example\r\n');
    for (const from of ['ilo.@vendor.example', 'first..last@carrier.example', 'x@xn--bcher-kva.example']) {
      expect(await c.command(`MAIL FROM:<${from}>\r\n`)).toMatch(/^250 /);
      expect(await c.command('RCPT TO:<user@example.net>\r\n')).toMatch(/^250 /);
      expect(await c.command('DATA\r\n')).toMatch(/^354/);
      expect(await c.command(`${message()}.\r\n`)).toMatch(/^250 /);
    }
    // Control and invisible characters stay refused: they serve only header and log injection.
    expect(await c.command('MAIL FROM:<a\u200bb@x.example>\r\n')).toMatch(/^501 /);
    c.close();
    expect(g.verdicts().map((v) => v.from)).toEqual(['ilo.@vendor.example', 'first..last@carrier.example', 'x@xn--bcher-kva.example']);
    // nodemailer quotes such local parts on the way out, which names the same mailbox (RFC 5321 4.1.2).
    expect((await g.sink.waitFor(3)).map((m) => m.from)).toEqual(['"ilo."@vendor.example', '"first..last"@carrier.example', 'x@bücher.example']);
  });

  it('names how the message came in on its Received: line: SMTP after HELO (RFC 3848)', async () => {
    const g = await start();
    const c = await rawSmtp(g.port);
    await c.reply();
    await c.command('HELO old.example\r\n');
    await c.command('MAIL FROM:<a@origin.example>\r\n');
    await c.command('RCPT TO:<user@example.net>\r\n');
    await c.command('DATA\r\n');
    expect(await c.command(`${message()}.\r\n`)).toMatch(/^250 /);
    c.close();
    const [m] = await g.sink.waitFor(1);
    expect(header(m.raw, 'Received')[0]).toMatch(/^from old\.example \(\[127\.0\.0\.1\]\) by mx\.test\.example \(Sluice\) with SMTP id /);
  });

  it('takes no AUTH on the inbound port', async () => {
    const g = await start();
    const c = await rawSmtp(g.port);
    await c.reply();
    const ehlo = await c.command('EHLO x.example\r\n');
    expect(ehlo).not.toMatch(/AUTH/);
    expect(ehlo).toMatch(/SIZE 26214400/);
    expect(await c.command('AUTH PLAIN AGFAYg==\r\n')).toMatch(/^5\d\d/);
    c.close();
  });
});

describe('quarantine', () => {
  it('holds mail durably, answers 250, and release relays it and removes it', async () => {
    const g = await start({ scores: { GTUBE: 12 } });
    const reply = await g.send({ raw: message({ subject: 'Held one', body: GTUBE }) });
    expect(reply.response).toMatch(/^250 2\.0\.0/);
    expect(g.sink.messages).toHaveLength(0);
    const { total, entries } = await g.gateway.core.quarantine.list({ limit: 10 });
    expect(total).toBe(1);
    expect(entries[0]).toMatchObject({ subject: 'Held one', mailFrom: 'sender@origin.example', rcptTo: ['user@example.net'], score: 12, action: 'quarantine' });
    expect(entries[0].symbols).toEqual([{ name: 'GTUBE', score: 12 }]);
    expect(g.verdicts()[0]).toMatchObject({ action: 'quarantine', quarantineId: entries[0].id });
    expect(readdirSync(g.config.quarantine.dir).sort()).toEqual([`${entries[0].id}.eml`, `${entries[0].id}.json`]);

    const outcome = await g.gateway.core.delivery.release(entries[0].id);
    expect(outcome?.relayId).toBe('SINK1');
    const [m] = await g.sink.waitFor(1);
    expect(m.to).toEqual(['user@example.net']);
    expect(header(m.raw, 'X-Spam-Flag')).toEqual([]);
    expect(header(m.raw, 'X-Spam-Status')).toEqual([]);
    expect(header(m.raw, 'X-Sluice-Released')).toHaveLength(1);
    expect(header(m.raw, 'Authentication-Results')).toEqual(['mx.test.example; none']);
    expect(header(m.raw, 'Received')[0]).toMatch(/by mx\.test\.example \(Sluice\)/);
    expect(header(m.raw, 'Subject')).toEqual(['Held one']);
    expect((await g.gateway.core.quarantine.list({ limit: 10 })).total).toBe(0);
    expect(readdirSync(g.config.quarantine.dir)).toEqual([]);
  });

  it('purges entries past the retention period', async () => {
    const g = await start({ scores: { GTUBE: 12 }, quarantine: { retentionDays: 1 } });
    await g.send({ raw: message({ body: GTUBE }) });
    expect(await g.gateway.core.quarantine.purge(Date.now() + 3_600_000)).toBe(0);
    expect(await g.gateway.core.quarantine.purge(Date.now() + 2 * 86_400_000)).toBe(1);
    expect((await g.gateway.core.quarantine.list({ limit: 10 })).total).toBe(0);
  });
});

describe('limits', () => {
  it('refuses an oversized message with 552 5.3.4, announced and enforced', async () => {
    const g = await start({ smtp: { maxSize: 2000 } });
    const err = await g.send({ raw: message({ body: 'x'.repeat(5000) }) }).then(() => null, (e) => e);
    expect(err?.response).toMatch(/^552 5\.3\.4/);
    const c = await rawSmtp(g.port);
    await c.reply();
    expect(await c.command('EHLO x.example\r\n')).toMatch(/SIZE 2000/);
    expect(await c.command('MAIL FROM:<a@b.example> SIZE=5000\r\n')).toMatch(/^552 5\.3\.4/);
    c.close();
    expect(g.sink.messages).toHaveLength(0);
  });

  it('holds at most smtp.maxInFlightBytes of mail at once; more gets 452 4.3.1 and goes through when retried', async () => {
    const g = await start({ smtp: { maxSize: 100_000, maxInFlightBytes: 100_000 } });
    const begin = async (mailFrom: string) => {
      const c = await rawSmtp(g.port);
      await c.reply();
      await c.command('EHLO x.example\r\n');
      const reply = await c.command(`${mailFrom}\r\n`);
      if (reply.startsWith('250')) {
        await c.command('RCPT TO:<user@example.net>\r\n');
        await c.command('DATA\r\n');
      }
      return { c, reply };
    };
    const body = (n: number) => `${message({ body: `${'x'.repeat(76)}\r\n`.repeat(Math.ceil(n / 78)) })}`;
    // A: 60 kB on its way in, its end not sent yet.
    const a = await begin('MAIL FROM:<a@origin.example>');
    a.c.write(body(60_000));
    await new Promise((r) => setTimeout(r, 300));
    // B declares 50 kB: refused before its body crosses the link.
    expect((await begin('MAIL FROM:<b@origin.example> SIZE=50000')).reply).toMatch(/^452 4\.3\.1 /);
    // C declares nothing and sends 50 kB: refused at the end of DATA.
    const c = await begin('MAIL FROM:<c@origin.example>');
    expect(await c.c.command(`${body(50_000)}.\r\n`)).toMatch(/^452 4\.3\.1 /);
    // A, within the limit, is taken; then C's retry is too.
    expect(await a.c.command('.\r\n')).toMatch(/^250 /);
    expect(await c.c.command('MAIL FROM:<c@origin.example>\r\n')).toMatch(/^250 /);
    await c.c.command('RCPT TO:<user@example.net>\r\n');
    await c.c.command('DATA\r\n');
    expect(await c.c.command(`${body(50_000)}.\r\n`)).toMatch(/^250 /);
    a.c.close();
    c.c.close();
    expect((await g.sink.waitFor(2)).map((m) => m.from)).toEqual(['a@origin.example', 'c@origin.example']);
  });

  it('limits recipients per message', async () => {
    const g = await start({ smtp: { maxRecipients: 2 } });
    const c = await rawSmtp(g.port);
    await c.reply();
    await c.command('EHLO x.example\r\n');
    await c.command('MAIL FROM:<a@b.example>\r\n');
    expect(await c.command('RCPT TO:<a@example.net>\r\n')).toMatch(/^250/);
    expect(await c.command('RCPT TO:<b@example.net>\r\n')).toMatch(/^250/);
    expect(await c.command('RCPT TO:<c@example.net>\r\n')).toMatch(/^452 4\.5\.3/);
    c.close();
  });

  it('limits connections per client address', async () => {
    const g = await start({ smtp: { maxConnectionsPerIp: 2 } });
    const a = await rawSmtp(g.port);
    const b = await rawSmtp(g.port);
    expect(await a.reply()).toMatch(/^220/);
    expect(await b.reply()).toMatch(/^220/);
    const c = await rawSmtp(g.port);
    expect(await c.reply()).toMatch(/^421 4\.7\.0/);
    const other = await rawSmtp(g.port, '127.0.0.2');
    expect(await other.reply()).toMatch(/^220/);
    a.close();
    await a.closed;
    await new Promise((r) => setTimeout(r, 50));
    const d = await rawSmtp(g.port);
    expect(await d.reply()).toMatch(/^220/);
    for (const s of [b, c, d, other]) s.close();
  });

  it('closes a transaction that takes too long with 421', async () => {
    const g = await start({ smtp: { transactionTimeoutMs: 300 } });
    const c = await rawSmtp(g.port);
    await c.reply();
    await c.command('EHLO x.example\r\n');
    await c.command('MAIL FROM:<a@b.example>\r\n');
    expect(await c.reply(2000)).toMatch(/^421 4\.4\.2/);
    await c.closed;
  });
});

describe('downstream trouble', () => {
  it('answers 451 4.4.1 while the downstream is down, then delivers once it is back', async () => {
    const g = await start();
    await g.sink.stop();
    const err = await g.send({ raw: message({ subject: 'retry me' }) }).then(() => null, (e) => e);
    expect(err?.response).toMatch(/^451 4\.4\.[0-9]/);
    expect(g.verdicts()[0]).toMatchObject({ action: 'accept' });
    await g.sink.restart();
    const reply = await g.send({ raw: message({ subject: 'retry me' }) });
    expect(reply.response).toMatch(/^250/);
    expect((await g.sink.waitFor(1))[0].raw.toString()).toContain('retry me');
  });

  it('passes a downstream 4xx on as 451 and a 5xx as a 5xx with its text', async () => {
    const g = await start();
    g.sink.dataReply = { code: 452, text: '4.3.1 Insufficient system storage' };
    const deferred = await g.send({ raw: message() }).then(() => null, (e) => e);
    expect(deferred?.response).toMatch(/^451 4\.4\.0 Downstream deferred: Insufficient system storage/);
    g.sink.dataReply = { code: 554, text: '5.7.0 Content refused by policy' };
    const refused = await g.send({ raw: message() }).then(() => null, (e) => e);
    expect(refused?.response).toMatch(/^554 5\.7\.0 Downstream refused: Content refused by policy/);
  });

  it('tells the sender by DSN about recipients the downstream refused while it took the others', async () => {
    const g = await start();
    g.sink.rcptReplies.set('gone@example.net', { code: 550, text: '5.1.1 No such user' });
    const reply = await g.send({ to: ['user@example.net', 'gone@example.net'], raw: message() });
    expect(reply.response).toMatch(/^250/);
    const [delivered, dsn] = await g.sink.waitFor(2);
    expect(delivered.to).toEqual(['user@example.net']);
    expect(dsn.from).toBe('');
    expect(dsn.to).toEqual(['sender@origin.example']);
    const text = dsn.raw.toString();
    expect(text).toContain('multipart/report; report-type=delivery-status');
    expect(text).toContain('Final-Recipient: rfc822; gone@example.net');
    expect(text).toContain('Status: 5.1.1');
    expect(g.verdicts()[0]).toMatchObject({ refused: ['gone@example.net'] });
  });
});

describe('delivery status notifications (RFC 3461)', () => {
  let dsnSink: Sink | undefined;
  afterEach(async () => {
    await dsnSink?.stop();
    dsnSink = undefined;
  });
  const ehlo = async (g: TestGateway) => {
    const c = await rawSmtp(g.port);
    await c.reply();
    const reply = await c.command('EHLO client.test.example\r\n');
    c.close();
    return reply;
  };
  /** A gateway in front of a downstream that offers DSN, once it has seen that. */
  const startWithDsn = async (overrides: Overrides = {}) => {
    dsnSink = await startSink(0, { dsn: true });
    const g = (gw = await startTestGateway(overrides, { sink: dsnSink }));
    for (let i = 0; i < 50 && !/^250[- ]DSN$/m.test(await ehlo(g)); i++) await new Promise((r) => setTimeout(r, 20));
    return g;
  };
  const sendRaw = async (g: TestGateway, mailFrom: string, rcpts: string[]) => {
    const c = await rawSmtp(g.port);
    await c.reply();
    await c.command('EHLO client.test.example\r\n');
    expect(await c.command(`MAIL FROM:${mailFrom}\r\n`)).toMatch(/^250/);
    for (const r of rcpts) expect(await c.command(`RCPT TO:${r}\r\n`)).toMatch(/^250/);
    expect(await c.command('DATA\r\n')).toMatch(/^354/);
    expect(await c.command(`${message().replace(/\r?\n/g, '\r\n')}\r\n.\r\n`)).toMatch(/^250/);
    c.close();
  };

  it('is offered only while the downstream offers it', async () => {
    const g = await start();
    await new Promise((r) => setTimeout(r, 200));
    expect(await ehlo(g)).not.toMatch(/DSN/);
    await g.stop();
    gw = undefined;
    expect(await ehlo(await startWithDsn())).toMatch(/^250[- ]DSN$/m);
  });

  it('passes RET, ENVID, NOTIFY and ORCPT on to the downstream', async () => {
    const g = await startWithDsn();
    // `+` and `=` travel xtext-encoded (+2B, +3D) on both hops; each smtp-server decodes them.
    await g.send({ raw: message(), dsn: { ret: 'HDRS', envid: 'QQ314159+x=y', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;user+x@example.net' } });
    const [m] = await g.sink.waitFor(1);
    expect(m.dsn).toEqual({ ret: 'HDRS', envid: 'QQ314159+x=y', recipients: { 'user@example.net': { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;user+x@example.net' } } });
  });

  it('sends recipients that asked for different notifications in separate transactions, ORCPT only where alone', async () => {
    const g = await startWithDsn();
    await sendRaw(g, '<sender@origin.example> ENVID=E1', [
      '<a@example.net> NOTIFY=NEVER ORCPT=rfc822;old-a@example.net',
      '<b@example.net> NOTIFY=SUCCESS ORCPT=rfc822;old-b@example.net',
      '<c@example.net> NOTIFY=NEVER ORCPT=rfc822;old-c@example.net',
    ]);
    const messages = await g.sink.waitFor(2);
    expect(messages.map((m) => [m.to, m.dsn])).toEqual([
      [['a@example.net', 'c@example.net'], { ret: null, envid: 'E1', recipients: { 'a@example.net': { notify: ['NEVER'] }, 'c@example.net': { notify: ['NEVER'] } } }],
      [['b@example.net'], { ret: null, envid: 'E1', recipients: { 'b@example.net': { notify: ['SUCCESS'], orcpt: 'rfc822;old-b@example.net' } } }],
    ]);
  });

  it('keeps them with a quarantined message and passes them on when it is released', async () => {
    const g = await startWithDsn({ scores: { GTUBE: 12 } });
    await g.send({ raw: message({ body: GTUBE }), dsn: { envid: 'HELD1', notify: ['SUCCESS'] } });
    const { entries } = await g.gateway.core.quarantine.list({ limit: 10 });
    expect(entries[0].dsn).toEqual({ envid: 'HELD1', recipients: { 'user@example.net': { notify: ['SUCCESS'] } } });
    await g.gateway.core.delivery.release(entries[0].id);
    const [m] = await g.sink.waitFor(1);
    expect(m.dsn).toEqual({ ret: null, envid: 'HELD1', recipients: { 'user@example.net': { notify: ['SUCCESS'] } } });
  });

  it('reports the recipients of a later transaction the downstream refuses, once an earlier one went in', async () => {
    const g = await startWithDsn();
    g.sink.rcptReplies.set('b@example.net', { code: 550, text: '5.1.1 No such user' });
    await sendRaw(g, '<sender@origin.example>', ['<a@example.net> NOTIFY=FAILURE', '<b@example.net> NOTIFY=SUCCESS,FAILURE']);
    const [delivered, report] = await g.sink.waitFor(2);
    expect(delivered.to).toEqual(['a@example.net']);
    expect(report.to).toEqual(['sender@origin.example']);
    expect(report.raw.toString()).toContain('Final-Recipient: rfc822; b@example.net');
    expect(report.raw.toString()).toContain('Status: 5.1.1');
    expect(g.verdicts()[0]).toMatchObject({ action: 'accept', refused: ['b@example.net'] });
  });

  it('reports refused recipients with their ORCPT and the ENVID, leaving out those that asked for no failure report', async () => {
    const g = await startWithDsn();
    g.sink.rcptReplies.set('gone@example.net', { code: 550, text: '5.1.1 No such user' });
    g.sink.rcptReplies.set('quiet@example.net', { code: 550, text: '5.1.1 No such user' });
    await sendRaw(g, '<sender@origin.example> RET=FULL ENVID=ENV+2B7', ['<user@example.net>', '<gone@example.net> NOTIFY=FAILURE ORCPT=rfc822;old-gone@example.net', '<quiet@example.net> NOTIFY=NEVER']);
    const [delivered, report] = await g.sink.waitFor(2);
    expect(delivered.to).toEqual(['user@example.net']);
    const text = report.raw.toString();
    expect(text).toContain('Original-Envelope-Id: ENV+7');
    expect(text).toContain('Original-Recipient: rfc822; old-gone@example.net\r\nFinal-Recipient: rfc822; gone@example.net');
    expect(text).not.toContain('quiet@example.net');
    expect(g.verdicts()[0]).toMatchObject({ refused: ['gone@example.net', 'quiet@example.net'] });
  });

  it('sends no report at all when every refused recipient asked for none', async () => {
    const g = await startWithDsn();
    g.sink.rcptReplies.set('quiet@example.net', { code: 550, text: '5.1.1 No such user' });
    await sendRaw(g, '<sender@origin.example>', ['<user@example.net>', '<quiet@example.net> NOTIFY=SUCCESS']);
    await g.sink.waitFor(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(g.sink.messages).toHaveLength(1);
    expect(g.logs.some((l) => l.msg === 'downstream refused recipients whose sender asked for no failure report')).toBe(true);
  });
});

describe('replies', () => {
  it('announces ENHANCEDSTATUSCODES and gives every reply after EHLO exactly one enhanced code', async () => {
    const g = await start();
    const c = await rawSmtp(g.port);
    expect(await c.reply()).toMatch(/^220 /);
    expect(await c.command('EHLO client.test.example\r\n')).toMatch(/^250-ENHANCEDSTATUSCODES$/m);
    const replies = [];
    for (const cmd of ['FOO', 'MAIL FROM:<a@origin.example>', 'RCPT TO:<b@example.net>', 'RCPT TO:<b@elsewhere.example>', 'DATA']) replies.push(await c.command(`${cmd}\r\n`));
    replies.push(await c.command(`${message().replace(/\r?\n/g, '\r\n')}\r\n.\r\n`));
    replies.push(await c.command('QUIT\r\n'));
    expect(replies.map((r) => r.replace(/ \(?[A-Za-z].*$/, ''))).toEqual(['500 5.5.2', '250 2.1.0', '250 2.1.5', '550 5.7.1', '354', '250 2.0.0', '221 2.0.0']);
    c.close();
  });
});

describe('malformed input', () => {
  it('answers junk, bare LF, empty and header-only messages and broken MIME without dying', async () => {
    const g = await start();
    const c = await rawSmtp(g.port);
    expect(await c.reply()).toMatch(/^220/);
    expect(await c.command(Buffer.from([0xff, 0xfe, 0x80, 0x0d, 0x0a]))).toMatch(/^5\d\d 5\.5\.\d/);
    expect(await c.command('EHLO x.example\r\n')).toMatch(/^250/);
    expect(await c.command('DATA\r\n')).toMatch(/^503 5\.5\.1/);
    expect(await c.command('RCPT TO:<user@example.net>\r\n')).toMatch(/^503 5\.5\.1/);
    expect(await c.command('MAIL FROM:<broken\r\n')).toMatch(/^501 5\.5\.4/);

    const deliver = async (body: string) => {
      expect(await c.command('MAIL FROM:<a@b.example>\r\n')).toMatch(/^250/);
      expect(await c.command('RCPT TO:<user@example.net>\r\n')).toMatch(/^250/);
      expect(await c.command('DATA\r\n')).toMatch(/^354/);
      // The terminator is CRLF.CRLF whatever line breaks the body used.
      return c.command(body + (body === '' || body.endsWith('\r\n') ? '' : '\r\n') + '.\r\n');
    };
    expect(await deliver('Subject: bare\nFrom: a@b.example\n\nbare LF body\n')).toMatch(/^250/);
    expect(await deliver('')).toMatch(/^250/);
    expect(await deliver('Subject: only a header\r\n')).toMatch(/^250/);
    expect(await deliver([
      'Content-Type: multipart/mixed; boundary="never-closed"',
      'Content-Transfer-Encoding: base64',
      '',
      '--never-closed',
      'Content-Type: text/plain; charset=no-such-charset',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      '=ZZ=\xff\xfe broken =',
      '',
    ].join('\r\n'))).toMatch(/^250/);
    expect(await deliver(`Subject: 8bit \xe9\xff\x00\r\n\r\n\x00\x01\x02 binary junk ${GTUBE}\r\n`)).toMatch(/^550 5\.7\.1/);
    expect(await c.command('QUIT\r\n')).toMatch(/^221/);
    await g.sink.waitFor(4);
    // still serving
    expect((await g.send({ raw: message() })).response).toMatch(/^250/);
  });
});

describe('shutdown', () => {
  it('on stop refuses new connections and lets a transaction in flight finish', async () => {
    const g = await start();
    const busy = await rawSmtp(g.port);
    await busy.reply();
    await busy.command('EHLO x.example\r\n');
    await busy.command('MAIL FROM:<a@b.example>\r\n');
    await busy.command('RCPT TO:<user@example.net>\r\n');
    expect(await busy.command('DATA\r\n')).toMatch(/^354/);
    const idle = await rawSmtp(g.port);
    await idle.reply();
    const stopping = g.gateway.stop();
    expect(await idle.reply()).toMatch(/^421/);
    expect(await busy.command('Subject: in flight\r\n\r\nhello\r\n.\r\n')).toMatch(/^250/);
    await busy.command('QUIT\r\n');
    await stopping;
    await expect(rawSmtp(g.port)).rejects.toThrow();
    expect((await g.sink.waitFor(1))[0].raw.toString()).toContain('in flight');
  });
});

describe('transport', () => {
  it('asks for the client\'s name as it connects, so a slow reverse lookup overlaps the early-talker pause', async () => {
    const dns = await startDnsServer({ zone: { '1.0.0.127.in-addr.arpa': { PTR: ['client.test.example'] } } });
    try {
      const g = await start({ dns: { servers: [dns.address], timeoutMs: 2000 } });
      dns.behaviour.delayMs = 300;
      const t0 = performance.now();
      const c = await rawSmtp(g.port);
      // smtp-server itself would ask only after its 100 ms pause.
      await new Promise((r) => setTimeout(r, 60));
      expect(dns.queries.filter((q) => q.type === 'PTR')).toHaveLength(1);
      expect(await c.reply()).toMatch(/^220 /);
      // The greeting waits for the answer (300 ms), not for the pause and then the answer (400 ms).
      expect(performance.now() - t0).toBeLessThan(380);
      expect(dns.queries.filter((q) => q.type === 'PTR')).toHaveLength(1);
      c.close();
    } finally {
      await dns.stop();
    }
  });

  it('offers STARTTLS when a certificate is configured, and relays over it', async () => {
    const g = await start({ smtp: { tls: { cert: 'test/fixtures/tls/cert.pem', key: 'test/fixtures/tls/key.pem' } } });
    const c = await rawSmtp(g.port);
    await c.reply();
    expect(await c.command('EHLO x.example\r\n')).toMatch(/STARTTLS/);
    c.close();
    const nodemailer = (await import('nodemailer')).default;
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: g.port, requireTLS: true, tls: { rejectUnauthorized: false }, logger: false });
    await t.sendMail({ envelope: { from: 'a@origin.example', to: ['user@example.net'] }, raw: message() });
    t.close();
    const [m] = await g.sink.waitFor(1);
    expect(header(m.raw, 'Received')[0]).toMatch(/with ESMTPS id/);
  });

  it('does not offer STARTTLS without a certificate', async () => {
    const g = await start();
    const c = await rawSmtp(g.port);
    await c.reply();
    expect(await c.command('EHLO x.example\r\n')).not.toMatch(/STARTTLS/);
    c.close();
  });

  it('disconnects an idle client with 421', async () => {
    const g = await start({ smtp: { idleTimeoutMs: 300 } });
    const c = await rawSmtp(g.port);
    await c.reply();
    expect(await c.reply(3000)).toMatch(/^421 4\.4\.2/);
    await c.closed;
  });
});

describe('bayes in the gateway', () => {
  it('autolearns spam when the other evidence agrees, and only once per message', async () => {
    const g = await start({ checks: { bayes: true }, bayes: { autolearn: true } });
    const spam = message({ subject: 'Cheap pills', body: `Buy now ${GTUBE}` });
    await g.send({ raw: spam }).catch(() => null);
    await g.send({ raw: spam }).catch(() => null);
    await g.send({ raw: message({ subject: 'lunch?' }) });
    await new Promise((r) => setTimeout(r, 200));
    const stats = await g.gateway.core.store.bayes.stats();
    expect(stats).toMatchObject({ learnedSpam: 1, learnedHam: 0 });
    expect(g.verdicts().map((v) => v.action)).toEqual(['reject', 'reject', 'accept']);
  });
});
