// The scan path's MIME walker against mailparser, the reader it replaces: the same subject, From,
// To, text, HTML and attachment list (filename, type, size) for the malformed and hostile fixtures
// and the SpamAssassin corpus, and the same refusals. `npm test` reads every 10th corpus message
// (and every message of a known difference); MIME_CORPUS=all reads all 6,046 (about 10 s).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../bench/corpus.ts';
import { MimeLimitError, readMail } from '../../src/mail/mime.ts';
import { referenceView, walkerView, type View } from './mime-reference.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/mime');

/**
 * Where the walker reads differently, and why it is right. Keyed by corpus file or fixture.
 * Each entry names the fields that differ; the rest must still be equal, and `check` tells the
 * difference is the documented one.
 */
const KNOWN_DIFFERENCES: Record<string, { fields: (keyof View)[]; why: string; check: (ours: View, ref: View) => void }> = {};

// Three spam messages carry binary junk in an EUC-KR (ks_c_5601-1987) HTML part. After a lead byte
// with no valid trail byte, the WHATWG Encoding Standard (EUC-KR decoder, "if byte is an ASCII byte,
// restore byte") gives U+FFFD and reads the ASCII byte again; iconv-lite, which mailparser decodes
// with, swallows it. Swallowed bytes could hide a `<` or a link from the checks: the walker keeps
// every ASCII character the reference keeps, and those the reference dropped.
for (const file of ['00588.44b644374b89ba4885f91f0ed836e622', '00960.ae114c0b717c866b821efe032780a8e5', '01072.ac604802c74de2ebc445efc827299b96']) {
  KNOWN_DIFFERENCES[`spam-2/${file}.txt`] = {
    fields: ['html'],
    why: 'invalid EUC-KR sequences: TextDecoder (WHATWG) keeps the ASCII byte after a bad lead byte, iconv-lite drops it',
    check: (ours, ref) => {
      const ascii = (s = '') => s.replace(/[^\x00-\x7f]/g, '');
      expect(isSubsequence(ascii(ref.html), ascii(ours.html))).toBe(true);
      expect(ascii(ours.html).length).toBeGreaterThan(ascii(ref.html).length);
    },
  };
}

// A part whose Content-Type field is empty: mailparser reports its type as `false`, not a string,
// which made the Bayes tokenizer throw (BAYES_ERROR); the walker reports ''.
KNOWN_DIFFERENCES['empty-content-type.eml'] = {
  fields: ['attachments'],
  why: 'an empty Content-Type is reported as \'\' rather than false',
  check: (ours, ref) => {
    expect(ref.attachments?.[0].contentType).toBe(false);
    expect(ours.attachments?.[0].contentType).toBe('');
    expect(ours.attachments?.slice(1)).toEqual(ref.attachments?.slice(1));
  },
};

// Bytes that are not UTF-8 in text said to be ASCII or UTF-8, or of no declared charset: mailparser
// reads them as UTF-8, each bad byte a U+FFFD; the walker reads them in the legacy charset they are in
// (detected; in raw 8-bit header fields, the charset of the first text part: src/mail/charset.ts,
// readUnlabelled). Fewer replacement characters, no ASCII character that was not there, every link
// still there (a multi-byte charset may take an ASCII letter after a lead byte into one character).
// In the corpus these are mostly Windows quotes and dashes in undeclared text, and Big5 subjects.
function isLegacyCharsetReading(ours: unknown, ref: unknown): boolean {
  const [a, b] = [JSON.stringify(ours) ?? '', JSON.stringify(ref) ?? ''];
  const ascii = (s: string) => s.replace(/[^\x00-\x7f]/g, '');
  const replaced = (s: string) => s.split('\ufffd').length - 1;
  const links = b.match(/(?:https?:\/\/|www\.)[\x21-\x7e]+/gi) ?? [];
  return replaced(b) > 0 && replaced(a) < replaced(b) && isSubsequence(ascii(a), ascii(b)) && links.every((l) => a.includes(l));
}

function isSubsequence(short: string, long: string): boolean {
  let j = 0;
  for (let i = 0; i < long.length && j < short.length; i++) if (long[i] === short[j]) j++;
  return j === short.length;
}

async function expectSameReading(name: string, raw: Buffer): Promise<void> {
  const ref = await referenceView(raw);
  const ours = walkerView(raw);
  const known = KNOWN_DIFFERENCES[name];
  const fields = Object.keys({ ...ref, ...ours }) as (keyof View)[];
  for (const field of fields) {
    if (known?.fields.includes(field)) continue;
    if (isLegacyCharsetReading(ours[field], ref[field])) continue;
    expect(ours[field], `${name}: ${field}`).toEqual(ref[field]);
  }
  if (known) {
    expect(known.fields.some((f) => JSON.stringify(ours[f]) !== JSON.stringify(ref[f])), `${name}: documented difference (${known.why}) no longer shows`).toBe(true);
    known.check(ours, ref);
  }
}

describe('MIME walker against mailparser', () => {
  it('reads every malformed and hostile fixture as mailparser does', async () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.eml')).sort();
    expect(files.length).toBeGreaterThan(15);
    for (const file of files) await expectSameReading(file, readFileSync(join(FIXTURES, file)));
  });

  it('reads the corpus as mailparser does', { timeout: 120_000 }, async () => {
    const all = process.env.MIME_CORPUS === 'all';
    const messages = loadCorpus().filter((m, i) => all || i % 10 === 0 || `${m.group}/${m.file}` in KNOWN_DIFFERENCES);
    expect(messages.length).toBeGreaterThanOrEqual(all ? 6046 : 600);
    for (const m of messages) await expectSameReading(`${m.group}/${m.file}`, m.raw);
  });

  it('refuses what mailparser refuses: over 1,000 parts, a part header over 1 MiB', async () => {
    const multipart = (n: number) => Buffer.from(`Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${
      '--b\r\nContent-Type: text/plain\r\n\r\nx\r\n'.repeat(n)}--b--\r\n`);
    // The top-level part counts: 999 parts and it are 1,000.
    for (const n of [999, 1000]) await expectSameReading(`${n} parts`, multipart(n));
    expect(() => readMail(multipart(999))).not.toThrow();
    expect(() => readMail(multipart(1000))).toThrow(new MimeLimitError('Max allowed child nodes exceeded'));

    const longHeader = (bytes: number) => Buffer.from(`Subject: x\r\nX-Long: ${'a'.repeat(bytes)}\r\n\r\nbody\r\n`);
    for (const bytes of [1024 * 1024 - 100, 1024 * 1024]) await expectSameReading(`header ${bytes}`, longHeader(bytes));
    expect(() => readMail(longHeader(1024 * 1024))).toThrow(new MimeLimitError('Max header size for a MIME node exceeded'));
    // Many short lines count at least 64 bytes each, in a part header as well.
    const manyLines = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n${'X: y\r\n'.repeat(16_400)}\r\nx\r\n--b--\r\n`);
    await expectSameReading('many header lines', manyLines);
    expect(() => readMail(manyLines)).toThrow(MimeLimitError);
  });

  it('reads a multipart nested to the part limit, as mailparser does', async () => {
    const nested = (depth: number) => {
      let raw = 'Subject: deep\r\nContent-Type: multipart/mixed; boundary=d0\r\n\r\n';
      for (let i = 1; i <= depth; i++) raw += `--d${i - 1}\r\nContent-Type: multipart/mixed; boundary=d${i}\r\n\r\n`;
      return Buffer.from(`${raw}--d${depth}\r\nContent-Type: text/plain\r\n\r\ndeepest\r\n`);
    };
    // The top-level multipart, 998 nested ones and the text: 1,000 parts.
    await expectSameReading('nested 998 deep', nested(998));
    expect(readMail(nested(998)).text).toBe('deepest\n');
    await expectSameReading('nested 999 deep', nested(999));
    expect(() => readMail(nested(999))).toThrow(MimeLimitError);
  });

  it('reads hostile header values in linear time, as mailparser does', async () => {
    const raw = Buffer.from(`Subject: ${'=?a?b?'.repeat(50_000)}\r\nContent-Type: text/plain; charset="${'('.repeat(100_000)}\r\nContent-Disposition: attachment; filename*0*=${"'".repeat(50_000)}\r\n\r\nx`);
    const started = performance.now();
    readMail(raw);
    expect(performance.now() - started).toBeLessThan(2000);
    await expectSameReading('hostile header values', raw);
  });
});
