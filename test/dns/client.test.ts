// The wire client and the caching layer against a real DNS server on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver } from '../../src/dns/resolver.ts';
import { WireClient, parseServer } from '../../src/dns/client.ts';
import dgram from 'node:dgram';
import { decodeMessage, encodeMessage, TYPE, type DnsMessage } from '../../src/dns/wire.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';

const longKey = 'v=DKIM1; k=rsa; p=' + 'A'.repeat(700);

let dns: DnsTestServer;
beforeAll(async () => {
  dns = await startDnsServer({
    negativeTtl: 42,
    zone: {
      'example.com': { A: ['192.0.2.1', '192.0.2.2'], AAAA: ['2001:db8::1'], TXT: ['v=spf1 ip4:127.0.0.1 -all'], MX: [{ exchange: 'mx.example.com', priority: 10 }], NS: ['ns1.example.com'], ttl: 120 },
      'sel._domainkey.example.com': { TXT: [longKey] },
      'big.example.com': { TXT: Array.from({ length: 30 }, (_, i) => `record number ${i} ${'y'.repeat(200)}`) },
      'alias.example.com': { CNAME: 'example.com', ttl: 5 },
      '1.0.0.127.in-addr.arpa': { PTR: ['localhost'] },
      'slow.example.com': { timeout: true },
      'broken.example.com': { servfail: true },
    },
  });
});
afterAll(() => dns.stop());

const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code: string }) => e.code);

describe('wire client', () => {
  it('parses server addresses', () => {
    expect(parseServer('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353 });
    expect(parseServer('10.0.0.1')).toEqual({ host: '10.0.0.1', port: 53 });
    expect(parseServer('[::1]:5353')).toEqual({ host: '::1', port: 5353 });
    expect(parseServer('::1')).toEqual({ host: '::1', port: 53 });
    expect(parseServer('[0:0:0:0:0:0:0:1]:53')).toEqual({ host: '::1', port: 53 });
    expect(parseServer('2001:DB8:0:0::53')).toEqual({ host: '2001:db8::53', port: 53 });
    expect(() => parseServer('dns.example:53')).toThrow(/not an IP/);
  });

  it('resolves every record type with TTLs', async () => {
    const client = new WireClient({ servers: [parseServer(dns.address)], timeoutMs: 1000 });
    expect(await client.query('example.com', 'A')).toEqual({ answer: ['192.0.2.1', '192.0.2.2'], ttl: 120 });
    expect((await client.query('example.com', 'AAAA')).answer).toEqual(['2001:db8::1']);
    expect((await client.query('example.com', 'MX')).answer).toEqual([{ exchange: 'mx.example.com', priority: 10 }]);
    expect((await client.query('example.com', 'NS')).answer).toEqual(['ns1.example.com']);
    expect((await client.query('1.0.0.127.in-addr.arpa', 'PTR')).answer).toEqual(['localhost']);
    expect(await client.query('alias.example.com', 'A')).toEqual({ answer: ['192.0.2.1', '192.0.2.2'], ttl: 5 });
    const key = (await client.query('sel._domainkey.example.com', 'TXT')).answer as string[][];
    expect(key[0].join('')).toBe(longKey);
  });

  it('falls back to TCP when the UDP answer is truncated', async () => {
    const client = new WireClient({ servers: [parseServer(dns.address)], timeoutMs: 1000 });
    const before = dns.queries.filter((q) => q.transport === 'tcp').length;
    const answer = (await client.query('big.example.com', 'TXT')).answer as string[][];
    expect(answer).toHaveLength(30);
    expect(dns.queries.filter((q) => q.transport === 'tcp').length).toBe(before + 1);
  });

  it('negative answers carry the SOA minimum as their TTL', async () => {
    const client = new WireClient({ servers: [parseServer(dns.address)], timeoutMs: 1000 });
    await expect(client.query('nope.example.com', 'A')).rejects.toMatchObject({ code: 'ENOTFOUND', ttl: 42 });
    await expect(client.query('example.com', 'PTR')).rejects.toMatchObject({ code: 'ENODATA', ttl: 42 });
    await expect(client.query('broken.example.com', 'A')).rejects.toMatchObject({ code: 'ESERVFAIL' });
  });

  it('times out within the configured time, and fails over to the next server', async () => {
    const client = new WireClient({ servers: [parseServer(dns.address)], timeoutMs: 300 });
    const t0 = Date.now();
    await expect(client.query('slow.example.com', 'A')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(600);

    const dead = await startDnsServer({ zone: {} });
    dead.behaviour.drop = true;
    const failover = new WireClient({ servers: [parseServer(dead.address), parseServer(dns.address)], timeoutMs: 600 });
    expect((await failover.query('example.com', 'A')).answer).toEqual(['192.0.2.1', '192.0.2.2']);
    await dead.stop();
  });

  it('can be aborted', async () => {
    const client = new WireClient({ servers: [parseServer(dns.address)], timeoutMs: 5000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(client.query('slow.example.com', 'A', controller.signal)).rejects.toMatchObject({ code: 'ECANCELLED' });
  });
});

describe('UDP sockets shared between questions', () => {
  it('carries a bounded number of questions per socket, then asks from a new source port', async () => {
    const client = new WireClient({ servers: [parseServer(dns.address)], timeoutMs: 1000, udp: { questionsPerSocket: 5, idleCloseMs: 1000 } });
    const names = Array.from({ length: 12 }, (_, i) => `n${i}.ports.example`);
    for (const name of names) dns.set(name, { A: ['192.0.2.9'] });
    for (const name of names) expect((await client.query(name, 'A')).answer).toEqual(['192.0.2.9']);
    const ports = names.map((name) => dns.queries.find((q) => q.name === name)!.clientPort);
    expect(new Set(ports.slice(0, 5)).size).toBe(1);
    expect(new Set(ports.slice(5, 10)).size).toBe(1);
    expect(new Set(ports.slice(10)).size).toBe(1);
    expect(new Set([ports[0], ports[5], ports[10]]).size).toBe(3);
  });

  it('gives each of many questions in flight on one socket its own answer', async () => {
    const client = new WireClient({ servers: [parseServer(dns.address)], timeoutMs: 2000, udp: { questionsPerSocket: 1000, idleCloseMs: 1000 } });
    const names = Array.from({ length: 50 }, (_, i) => `m${i}.many.example`);
    names.forEach((name, i) => dns.set(name, { A: [`192.0.2.${i + 1}`] }));
    dns.behaviour.delayMs = 50;
    try {
      const answers = await Promise.all(names.map((name) => client.query(name, 'A')));
      expect(answers.map((a) => a.answer)).toEqual(names.map((_, i) => [`192.0.2.${i + 1}`]));
    } finally {
      dns.behaviour.delayMs = 0;
    }
    expect(new Set(dns.queries.filter((q) => q.name.endsWith('.many.example')).map((q) => q.clientPort)).size).toBe(1);
  });

  it('ignores answers with another id, for another question, or from another address', async () => {
    // A server that first sends three forgeries, then the true answer.
    const server = dgram.createSocket('udp4');
    const forger = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    server.on('message', (msg, rinfo) => {
      const query = decodeMessage(msg);
      const reply = (id: number, name: string, address: string) => {
        const m: DnsMessage = {
          id, response: true, opcode: 0, authoritative: true, truncated: false, recursionDesired: true, recursionAvailable: true, rcode: 0,
          questions: [{ name, type: TYPE.A }], answers: [{ name, type: TYPE.A, ttl: 60, data: address }], authorities: [], additionals: [],
        };
        return encodeMessage(m);
      };
      const name = query.questions[0].name;
      server.send(reply((query.id + 1) % 65536, name, '203.0.113.1'), rinfo.port, rinfo.address);
      server.send(reply(query.id, 'other.example', '203.0.113.2'), rinfo.port, rinfo.address);
      forger.send(reply(query.id, name, '203.0.113.3'), rinfo.port, rinfo.address);
      setTimeout(() => server.send(reply(query.id, name, '192.0.2.77'), rinfo.port, rinfo.address), 30);
    });
    try {
      const client = new WireClient({ servers: [{ host: '127.0.0.1', port: server.address().port }], timeoutMs: 1000 });
      expect((await client.query('true.example', 'A')).answer).toEqual(['192.0.2.77']);
    } finally {
      server.close();
      forger.close();
    }
  });
});

describe('test DNS server behaviour switches', () => {
  it('delays answers, changes data while running, and answers nothing when dropping', async () => {
    const server = await startDnsServer({ zone: { 'a.example': { A: ['192.0.2.1'] } } });
    try {
      const client = new WireClient({ servers: [parseServer(server.address)], timeoutMs: 1000 });
      server.behaviour.delayMs = 150;
      const t0 = Date.now();
      expect((await client.query('a.example', 'A')).answer).toEqual(['192.0.2.1']);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      server.behaviour.delayMs = 0;
      server.set('b.example', { TXT: ['hello'] });
      expect((await client.query('b.example', 'TXT')).answer).toEqual([['hello']]);
      server.behaviour.servfail = true;
      await expect(client.query('a.example', 'A')).rejects.toMatchObject({ code: 'ESERVFAIL' });
      server.behaviour.servfail = false;
      server.behaviour.drop = true;
      const quick = new WireClient({ servers: [parseServer(server.address)], timeoutMs: 100 });
      await expect(quick.query('a.example', 'A')).rejects.toMatchObject({ code: 'ETIMEOUT' });
      expect(server.queries.filter((q) => q.name === 'a.example').length).toBeGreaterThanOrEqual(4);
    } finally {
      await server.stop();
    }
  });
});

describe('resolver from config over the wire', () => {
  it('caches positive and negative answers, so the server is asked once', async () => {
    const resolver = createResolver({ servers: [dns.address], timeoutMs: 1000 });
    const count = () => dns.queries.filter((q) => q.name === 'example.com' || q.name === 'missing.example.com').length;
    const before = count();
    for (let i = 0; i < 3; i++) {
      await resolver.resolve('example.com', 'TXT');
      await codeOf(resolver.resolve('missing.example.com', 'TXT'));
    }
    expect(count() - before).toBe(2);
  });

  it('with DNS down, fails with ETIMEOUT within the timeout', async () => {
    const down = await startDnsServer({ zone: { 'example.com': { A: ['192.0.2.1'] } } });
    down.behaviour.drop = true;
    const resolver = createResolver({ servers: [down.address], timeoutMs: 200 });
    const t0 = Date.now();
    await expect(codeOf(resolver.resolve('example.com', 'A'))).resolves.toBe('ETIMEOUT');
    expect(Date.now() - t0).toBeLessThan(400);
    await down.stop();
  });
});
