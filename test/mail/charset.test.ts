// Text in a legacy charset that the message does not declare. The bytes are made by iconv-lite, an
// encoder apart from the WHATWG decoders (TextDecoder) the walker reads with, from the texts below.
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { decodeHeaderBytes, readUnlabelled } from '../../src/mail/charset.ts';
import { readMail } from '../../src/mail/mime.ts';

const SAMPLES: [charset: string, text: string][] = [
  ['gb2312', '您好，我们公司提供优惠的发票服务，欢迎来电联系，谢谢您的支持。'],
  ['big5', '您好，我們公司提供優惠的發票服務，歡迎來電聯繫，謝謝您的支持。'],
  ['shift_jis', 'こんにちは、無料で出会い系サイトに登録できます。今すぐご覧ください。'],
  ['euc-kr', '안녕하세요 무료 대출 상담을 받으세요. 지금 바로 신청하실 수 있습니다.'],
  ['koi8-r', 'Здравствуйте, предлагаем выгодные кредиты без справок и поручителей.'],
  ['windows-1251', 'Здравствуйте, предлагаем выгодные кредиты без справок и поручителей.'],
  ['windows-1252', 'He said “hello” — the café’s naïve déjà vu was fine, wasn’t it?'],
];

describe('text in a charset it does not declare', () => {
  it('is read in the legacy charset its bytes are in', () => {
    for (const [charset, text] of SAMPLES) expect(readUnlabelled(iconv.encode(text, charset)), charset).toEqual({ text, detected: expect.any(String) });
  });

  it('is read as UTF-8 when it is UTF-8, even with a bad byte or two', () => {
    const utf8 = Buffer.from('Grüße aus München, ein schönes Café');
    expect(readUnlabelled(utf8)).toEqual({ text: 'Grüße aus München, ein schönes Café' });
    const damaged = Buffer.concat([utf8, Buffer.from([0xff])]);
    expect(readUnlabelled(damaged)).toEqual({ text: 'Grüße aus München, ein schönes Café\ufffd' });
  });

  it('is read in the charset a body declares, for a header field with raw 8-bit bytes', () => {
    const subject = iconv.encode('优惠发票', 'gb2312');
    expect(decodeHeaderBytes(subject, 'gb2312')).toBe('优惠发票');
    // Without a charset, a field is too short to tell: read as UTF-8, bad bytes replaced.
    expect(decodeHeaderBytes(subject, undefined)).toBe(subject.toString('utf8'));
    expect(decodeHeaderBytes(subject, undefined)).toContain('\ufffd');
  });

  it('is not read so when that takes a link apart: a multi-byte charset can take an ASCII letter into a character', () => {
    // In Big5, 0xA4 is a lead byte and the letter h a trail byte: together one character.
    const bytes = Buffer.concat([Buffer.from([0xa4]), Buffer.from('http://example.com/ and more')]);
    expect(new TextDecoder('big5').decode(bytes)).toContain('ttp://example.com/');
    expect(decodeHeaderBytes(bytes, 'big5')).toBe('\ufffdhttp://example.com/ and more');
    expect(decodeHeaderBytes(Buffer.concat([Buffer.from([0xa4, 0xa4]), Buffer.from(' http://example.com/')]), 'big5')).toBe('中 http://example.com/');
  });

  it('is read, in an HTML part, in the charset its <meta> names', () => {
    // A few Cyrillic words are too few for a detector to be sure of KOI8-R.
    const html = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=koi8-r"></head><body>Привет, мир</body></html>';
    const raw = Buffer.concat([Buffer.from('Subject: x\r\nContent-Type: text/html\r\n\r\n'), iconv.encode(html, 'koi8-r')]);
    expect(readMail(raw).html).toBe(html);
  });

  it('gives a message its words and subject back', () => {
    const [charset, text] = SAMPLES[0];
    const message = (contentType: string) => Buffer.concat([
      Buffer.from('From: a@example.com\r\nSubject: '), iconv.encode(text.slice(0, 6), charset),
      Buffer.from(`\r\nMIME-Version: 1.0\r\n${contentType}\r\n`), iconv.encode(text, charset), Buffer.from('\r\n'),
    ]);
    for (const contentType of ['Content-Type: text/plain; charset=gb2312\r\n', 'Content-Type: text/plain\r\n', '']) {
      const mail = readMail(message(contentType));
      expect(mail.text, contentType).toBe(`${text}\n`);
      expect(mail.subject, contentType).toBe(text.slice(0, 6));
    }
  });
});
