// Header decoding against the examples of the RFCs that define it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeWords, parseHeaderValue, unfoldedValue } from '../../src/mail/header-fields.ts';
import { readMail } from '../../src/mail/mime.ts';

describe('encoded words (RFC 2047)', () => {
  it('decodes the examples of RFC 2047 section 8', () => {
    // Copied from RFC 2047 section 8, "Examples": encoded text, then how it is displayed.
    const examples: [string, string][] = [
      ['=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>', 'Keith Moore <moore@cs.utk.edu>'],
      ['=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>', 'Keld Jørn Simonsen <keld@dkuug.dk>'],
      ['=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>', 'André Pirard <PIRARD@vm1.ulg.ac.be>'],
      ['(=?ISO-8859-1?Q?a?=)', '(a)'],
      ['(=?ISO-8859-1?Q?a?= b)', '(a b)'],
      ['(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)', '(ab)'],
      ['(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)', '(ab)'],
      ['(=?ISO-8859-1?Q?a_b?=)', '(a b)'],
      ['(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)', '(a b)'],
    ];
    for (const [encoded, shown] of examples) expect(decodeWords(encoded), encoded).toBe(shown);
    // "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)" is displayed as "(ab)" once unfolded.
    expect(decodeWords(unfoldedValue('Subject: (=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)'))).toBe('(ab)');
  });

  it('ignores the language of RFC 2231 section 5', () => {
    // RFC 2231 section 5: "=?US-ASCII*EN?Q?Keith_Moore?=".
    expect(decodeWords('=?US-ASCII*EN?Q?Keith_Moore?=')).toBe('Keith Moore');
  });
});

describe('parameters (RFC 2045, RFC 2231)', () => {
  it('reads the parameters of RFC 2045 section 5.1, quoted or not, comments dropped', () => {
    // RFC 2045 5.1: these are equivalent: text/plain; charset=us-ascii (Plain text) and
    // text/plain; charset="us-ascii".
    expect(parseHeaderValue('text/plain; charset=us-ascii (Plain text)', { stripComments: true }).params).toEqual({ charset: 'us-ascii' });
    expect(parseHeaderValue('text/plain; charset="us-ascii"', { stripComments: true })).toMatchObject({ value: 'text/plain', params: { charset: 'us-ascii' } });
  });

  it('joins and decodes the continuations of RFC 2231 sections 3, 4 and 4.1', () => {
    // Copied from RFC 2231 section 3.
    const external = parseHeaderValue('message/external-body; access-type=URL;\r\n URL*0="ftp://";\r\n URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"');
    expect(external.params.url).toBe('ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar');
    // Section 4.
    expect(parseHeaderValue("application/x-stuff;\r\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A").params.title).toBe('This is ***fun***');
    // Section 4.1, with the semicolons between the parameters that the RFC's example leaves out.
    const mixed = parseHeaderValue("application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n title*2=\"isn't it!\"");
    expect(mixed.params.title).toBe("This is even more ***fun*** isn't it!");
    expect(mixed.decodedParams).toEqual(['title']);
  });
});

describe('multipart (RFC 2046)', () => {
  it('reads the example of RFC 2046 section 5.1.1: preamble and epilogue ignored, the CRLF before a delimiter is the delimiter\'s', () => {
    // test/fixtures/mime/rfc2046-multipart-example.eml is the example message of RFC 2046 5.1.1.
    const m = readMail(readFileSync(join(import.meta.dirname, '../fixtures/mime/rfc2046-multipart-example.eml')));
    expect(m.subject).toBe('Sample message');
    expect(m.from).toEqual([{ name: 'Nathaniel Borenstein', address: 'nsb@bellcore.com' }]);
    expect(m.text).toBe('This is implicitly typed plain US-ASCII text.\nIt does NOT end with a linebreak.\n'
      + 'This is explicitly typed plain US-ASCII text.\nIt DOES end with a linebreak.\n');
    expect(m.attachments).toEqual([]);
  });
});
