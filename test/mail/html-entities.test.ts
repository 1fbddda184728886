import { describe, expect, it } from 'vitest';
import { decodeHtmlEntities } from '../../src/mail/html-entities.ts';

describe('decodeHtmlEntities', () => {
  // Named character references and their code points, as the HTML standard's table lists them
  // (https://html.spec.whatwg.org/entities.json, e.g. `"&eacute;": { "codepoints": [233] }`).
  // `&copy` and `&not` are also listed without `;`: the legacy names a browser decodes bare.
  const named: [string, number[]][] = [
    ['&eacute;', [233]],
    ['&rsquo;', [8217]],
    ['&ldquo;', [8220]],
    ['&mdash;', [8212]],
    ['&hellip;', [8230]],
    ['&trade;', [8482]],
    ['&euro;', [8364]],
    ['&nbsp;', [160]],
    ['&colon;', [58]],
    ['&NotEqualTilde;', [8770, 824]],
    ['&copy', [169]],
    ['&AMP;', [38]],
  ];
  it.each(named)('decodes %s as the standard lists it', (reference, codepoints) => {
    expect(decodeHtmlEntities(`a${reference}b`)).toBe(`a${String.fromCodePoint(...codepoints)}b`);
  });

  it('decodes numeric references, with the replacements the HTML standard makes for C1 code points', () => {
    // HTML standard, "numeric character reference end state": 0x80 is replaced by U+20AC, 0x92 by U+2019.
    expect(decodeHtmlEntities('&#128;&#x92;&#8217;&#X41;')).toBe('\u20ac\u2019\u2019A');
    // A reference with no `;` still ends where its digits end (a parse error, decoded all the same).
    expect(decodeHtmlEntities('h&#116tp&#58//x')).toBe('http://x');
  });

  it('reads a legacy name inside a longer unknown one as a browser does, and leaves unknown names alone', () => {
    // The HTML standard's own example: "I'm &notit; I tell you" is read as "I'm ¬it; I tell you".
    expect(decodeHtmlEntities("I'm &notit; I tell you")).toBe("I'm \u00acit; I tell you");
    expect(decodeHtmlEntities('&nosuchname; & &')).toBe('&nosuchname; & &');
  });
});
