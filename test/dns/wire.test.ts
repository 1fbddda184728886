// The wire format as real resolvers write it: compressed names, CNAME chains, EDNS, odd input.
import { describe, expect, it } from 'vitest';
import { TYPE, bytesToIpv6, decodeMessage, encodeMessage, encodeQuery, ipv6ToBytes } from '../../src/dns/wire.ts';
import { interpret } from '../../src/dns/client.ts';

/** A reply to `www.example.com A` as BIND writes it: every name after the question is a pointer. */
function compressedReply(): Buffer {
  const header = Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0]);
  // Question at offset 12: www.example.com (example.com starts at 16).
  const question = Buffer.concat([Buffer.from('\x03www\x07example\x03com\x00', 'latin1'), Buffer.from([0, 1, 0, 1])]);
  // www.example.com CNAME mail.example.com — the target as "mail" + pointer to example.com (16).
  const cnameData = Buffer.from([4, ...Buffer.from('mail'), 0xc0, 16]);
  const cname = Buffer.concat([Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, cnameData.length]), cnameData]);
  // mail.example.com A 192.0.2.25 — its name a pointer into the CNAME's data (offset of "mail").
  const mailOffset = header.length + question.length + 12;
  const a = Buffer.from([0xc0, mailOffset, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 25]);
  return Buffer.concat([header, question, cname, a]);
}

describe('wire format', () => {
  it('reads compressed names and follows the CNAME chain to the answer, with the smallest TTL', () => {
    const m = decodeMessage(compressedReply());
    expect(m.id).toBe(0x1234);
    expect(m.questions).toEqual([{ name: 'www.example.com', type: TYPE.A }]);
    expect(m.answers.map((r) => [r.name, r.data])).toEqual([['www.example.com', 'mail.example.com'], ['mail.example.com', '192.0.2.25']]);
    expect(interpret(m, 'www.example.com', 'A')).toEqual({ answer: ['192.0.2.25'], ttl: 30 });
  });

  it('refuses forward and looping compression pointers and truncated messages', () => {
    const loop = Buffer.concat([Buffer.from([0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(() => decodeMessage(loop)).toThrow(/pointer/);
    expect(() => decodeMessage(compressedReply().subarray(0, 40))).toThrow();
  });

  it('round-trips queries and answers of every type, EDNS included', () => {
    const q = decodeMessage(encodeQuery(7, 'Example.COM', TYPE.TXT));
    expect(q).toMatchObject({ id: 7, response: false, recursionDesired: true, udpPayloadSize: 1232, questions: [{ name: 'Example.COM', type: TYPE.TXT }] });
    const reply = decodeMessage(
      encodeMessage({
        ...q,
        response: true,
        answers: [
          { name: 'example.com', type: TYPE.TXT, ttl: 5, data: ['a'.repeat(300)] },
          { name: 'example.com', type: TYPE.MX, ttl: 5, data: { exchange: 'mx.example.com', priority: 5 } },
          { name: 'example.com', type: TYPE.AAAA, ttl: 5, data: '2001:db8::1' },
        ],
      }),
    );
    expect((reply.answers[0].data as string[]).map((s) => s.length)).toEqual([255, 45]);
    expect(reply.answers[1].data).toEqual({ exchange: 'mx.example.com', priority: 5 });
    expect(reply.answers[2].data).toBe('2001:db8::1');
  });

  it('writes IPv6 addresses the way node:dns does', () => {
    for (const [input, out] of [['2001:db8::1', '2001:db8::1'], ['::', '::'], ['::ffff:192.0.2.1', '::ffff:c000:201'], ['1:0:0:1:0:0:0:1', '1:0:0:1::1'], ['fe80:0:0:0:1:2:3:4', 'fe80::1:2:3:4']]) {
      expect(bytesToIpv6(ipv6ToBytes(input))).toBe(out);
    }
    expect(() => ipv6ToBytes('1::2::3')).toThrow();
  });
});
