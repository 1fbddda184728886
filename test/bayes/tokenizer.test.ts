import { describe, expect, it } from 'vitest';
import { readMail } from '../../src/mail/mime.ts';
import { DEFAULT_TOKENIZER_OPTIONS, htmlToText, normalizeText, splitWords, tokenize, TOKEN_BODY, TOKEN_HEADER, TOKEN_PAIR } from '../../src/bayes/tokenizer.ts';
import { hashString, mergeTokenIds, TokenIdBuilder } from '../../src/bayes/hash.ts';

const words = (text: string) => {
  const out: string[] = [];
  splitWords(normalizeText(text), (w) => out.push(w));
  return out;
};

const idOf = (text: string) => {
  const h = hashString(text);
  return BigInt.asIntN(64, (BigInt(h.high) << 32n) | BigInt.asUintN(32, BigInt(h.low)));
};

const parse = (raw: string) => readMail(Buffer.from(raw.replace(/\n/g, '\r\n')));

describe('words', () => {
  it('folds case and compatibility forms (NFKC)', () => {
    expect(words('FREE Ｍｏｎｅｙ ﬁnance')).toEqual(['free', 'money', 'finance']);
  });

  it('keeps inner apostrophes, dots and hyphens, drops lone Latin letters', () => {
    expect(words("don't e.g. x-ray a 7 b")).toEqual(["don't", 'e.g', 'x-ray']);
  });

  it('segments Chinese, which has no spaces, into words', () => {
    const chinese = words('我们提供免费的发票服务');
    expect(chinese.length).toBeGreaterThan(3);
    expect(chinese).toContain('免费');
    expect(chinese).toContain('发票');
  });

  it('segments Japanese and Thai too, and keeps mixed-script text apart', () => {
    expect(words('今すぐ無料でお試しください').length).toBeGreaterThan(3);
    expect(words('ฟรีค่าจัดส่งวันนี้').length).toBeGreaterThan(1);
    expect(words('Viagra 便宜 sale')).toEqual(expect.arrayContaining(['viagra', 'sale']));
  });

  it('drops the characters Unicode marks as default-ignorable, which hide a word from a filter and not from the eye', () => {
    // Unicode's DerivedCoreProperties.txt, Default_Ignorable_Code_Point: 00AD (SOFT HYPHEN),
    // 200B..200F (ZERO WIDTH SPACE..RIGHT-TO-LEFT MARK), 2060..2064 (WORD JOINER..INVISIBLE PLUS),
    // 3164 (HANGUL FILLER), FEFF (ZERO WIDTH NO-BREAK SPACE).
    expect(words('V\u200Biag\u00ADra fr\u2060e\uFEFFe cl\u200Dick\u3164here')).toEqual(['viagra', 'free', 'clickhere']);
    expect(words('V\u200Biag\u00ADra')).toEqual(words('Viagra'));
  });

  it("reads Cyrillic and Greek look-alikes inside a Latin word as the Latin letters, and leaves Russian and Greek alone", () => {
    // Pairs from Unicode's confusables.txt (UTS #39), e.g. "0430 ; 0061 ; MA # ( а → a ) CYRILLIC SMALL
    // LETTER A → LATIN SMALL LETTER A"; also і (0456) → i, р (0440) → p, у (0443) → y, ο (03BF) → o.
    expect(words('Buy v\u0456\u0430gr\u0430 now')).toEqual(['buy', 'viagra', 'now']);
    expect(words('\u0420\u0430yPal')).toEqual(['paypal']);
    expect(words('g\u03BF\u03BFgle')).toEqual(['google']);
    expect(words('Привет мир, Ελλάδα')).toEqual(['привет', 'мир', 'ελλάδα']);
  });

  it('reads each pictograph (emoji) as a word, with or without spaces around it', () => {
    // Extended_Pictographic in Unicode's emoji-data.txt: U+1F525 FIRE, U+2764 HEAVY BLACK HEART, U+00A9.
    expect(words('\u{1F525} Sale\u{1F525}now \u2764\uFE0F \u00A92024')).toEqual(['\u{1F525}', 'sale', '\u{1F525}', 'now', '\u2764', '\u00A9', '2024']);
  });

  it('replaces very long runs by a length class', () => {
    expect(words('x'.repeat(100))).toEqual(['\u0000long:5']);
  });

  it('keeps short numbers and reduces long ones with digits to their form', () => {
    expect(words('call 2002 at 555-0123 or 18005551234, ref ab12cd34')).toEqual(['call', '2002', 'at', '\u0000num:999-9999', 'or', '\u0000num:99999999999', 'ref', '\u0000num:aa99aa99']);
  });
});

describe('html', () => {
  it('drops scripts, styles and tags and decodes entities', () => {
    expect(htmlToText('<style>p{}</style><p>Buy&nbsp;now &amp; save&#33;</p><script>x()</script>').replace(/\s+/g, ' ').trim()).toBe('Buy now & save!');
  });

  it('reads every named character reference of the HTML standard, so an HTML part gives the words its text does', () => {
    // &eacute; is U+00E9, &rsquo; U+2019, &mdash; U+2014 (https://html.spec.whatwg.org/entities.json).
    expect(words(htmlToText('<p>Caf&eacute; Nice&rsquo;s &mdash; r&eacute;sum&eacute;s</p>'))).toEqual(words('Café Nice’s — résumés'));
    const html = tokenize(parse('Subject: x\nContent-Type: text/html\n\n<p>Caf&eacute; r&eacute;sum&eacute;s sent today</p>\n'), DEFAULT_TOKENIZER_OPTIONS);
    const text = tokenize(parse('Subject: x\nContent-Type: text/plain; charset=utf-8\n\nCafé résumés sent today\n'), DEFAULT_TOKENIZER_OPTIONS);
    const bodyIds = (t: ReturnType<typeof tokenize>) => [...t.ids].filter((_, i) => t.kinds[i] === TOKEN_BODY);
    expect(bodyIds(html)).toEqual(expect.arrayContaining([idOf('café'), idOf('résumés')]));
    expect(bodyIds(text)).toEqual(expect.arrayContaining([idOf('café'), idOf('résumés')]));
  });
});

describe('tokenize', () => {
  it('gives sorted unique 64-bit ids with word pairs and header tokens', async () => {
    const parsed = await parse(`From: "Cheap Meds" <sales@pharma.example>
Reply-To: other@elsewhere.example
Subject: Cheap meds today
Content-Type: text/plain; charset=utf-8
X-Mailer: BulkMailer 5

Cheap meds today, cheap meds tomorrow: visit http://www.pharma.example/buy now.
`);
    const full = tokenize(parsed);
    const bodyOnly = tokenize(parsed, { ...DEFAULT_TOKENIZER_OPTIONS, headers: false });
    const unigrams = tokenize(parsed, { ...DEFAULT_TOKENIZER_OPTIONS, window: 1 });
    expect(full.ids).toBeInstanceOf(BigInt64Array);
    for (let i = 1; i < full.ids.length; i++) expect(full.ids[i] > full.ids[i - 1]).toBe(true);
    expect(full.ids.length).toBeGreaterThan(bodyOnly.ids.length);
    expect(bodyOnly.ids.length).toBeGreaterThan(unigrams.ids.length - (full.ids.length - bodyOnly.ids.length));
    expect(full.words).toBe(bodyOnly.words);
  });

  it('marks each id as body word, word pair or header, the body ids being exactly those of the body-only run', async () => {
    const parsed = await parse(`From: "Cheap Meds" <sales@pharma.example>
Received: from mx.pharma.example (mx.pharma.example [192.0.2.9]) by mail.example.org with ESMTP; Thu, 28 Nov 2002 06:09:37 -0800
Subject: Cheap meds today
Content-Type: text/html

<p>Cheap meds today, visit <a href="http://www.pharma.example/buy">us</a> now.</p>
`);
    const full = tokenize(parsed);
    const bodyOnly = tokenize(parsed, { ...DEFAULT_TOKENIZER_OPTIONS, headers: false });
    expect(full.kinds.length).toBe(full.ids.length);
    const body = [...full.ids].filter((_, i) => full.kinds[i] !== TOKEN_HEADER);
    expect(body).toEqual([...bodyOnly.ids]);
    expect([...full.kinds].filter((k) => k === TOKEN_HEADER).length).toBe(full.ids.length - bodyOnly.ids.length);
    expect([...bodyOnly.kinds].every((k) => k === TOKEN_BODY || k === TOKEN_PAIR)).toBe(true);
    // The pairs are what a window of one (words alone) leaves out.
    const words = tokenize(parsed, { ...DEFAULT_TOKENIZER_OPTIONS, headers: false, window: 1 });
    expect([...bodyOnly.ids].filter((_, i) => bodyOnly.kinds[i] === TOKEN_BODY)).toEqual([...words.ids]);
    expect(words.kinds.every((k) => k === TOKEN_BODY)).toBe(true);
  });

  it('reads quoted lines of a reply again, apart, without counting their words twice', async () => {
    const plain = tokenize(await parse(`Subject: re\nContent-Type: text/plain\n\nagreed\nfree cards today\n`), { ...DEFAULT_TOKENIZER_OPTIONS, headers: false });
    const quoting = tokenize(await parse(`Subject: re\nContent-Type: text/plain\n\nagreed\n  > free cards today\n`), { ...DEFAULT_TOKENIZER_OPTIONS, headers: false });
    // The quoted words are body words as before, and three words more besides.
    expect([...plain.ids].every((id) => quoting.ids.includes(id))).toBe(true);
    expect(quoting.ids.length).toBe(plain.ids.length + 3);
    expect(quoting.words).toBe(plain.words);
  });

  it('pairs each word with the one or two before it (window 3), within one text', async () => {
    // Body words "alpha beta gamma", each new, and no other text: pairs alpha-beta, beta-gamma, alpha-gamma.
    const parsed = await parse(`Subject: \nContent-Type: text/plain\n\nalpha beta gamma\n`);
    const tokens = tokenize(parsed, { ...DEFAULT_TOKENIZER_OPTIONS, headers: false });
    expect([...tokens.kinds].filter((k) => k === TOKEN_PAIR).length).toBe(3);
  });

  it('reads HTML-only mail as text and takes its link domains', async () => {
    const page = (link: string) => parse(`From: a@example.org
Subject: offer
Content-Type: text/html

<html><body><p>Great <b>offer</b> today</p><a ${link}>click</a></body></html>
`);
    const text = await parse(`From: a@example.org
Subject: offer
Content-Type: text/plain

Great offer today click
`);
    const options = { ...DEFAULT_TOKENIZER_OPTIONS, headers: false };
    const a = tokenize(await page('href="https://shop.spam.example/x"'), options);
    const b = tokenize(text, options);
    const unlinked = tokenize(await page('name="x"'), options);
    // The words are shared; only HTML structure tokens differ.
    const shared = [...a.ids].filter((id) => b.ids.includes(id));
    expect(shared.length).toBeGreaterThanOrEqual(b.ids.length - 4);
    // The link adds its domains (url:shop.spam.example, url:spam.example) and the words inside the tag.
    const fromLink = [...a.ids].filter((id) => !unlinked.ids.includes(id));
    expect(fromLink.length).toBeGreaterThanOrEqual(3);
  });

  it('reads the words inside link, image and font tags as body words, and other tags by name only', async () => {
    const options = { ...DEFAULT_TOKENIZER_OPTIONS, headers: false };
    const html = (body: string) => parse(`Subject: offer
Content-Type: text/html

<html><body>${body}<p>Great offer today</p></body></html>
`);
    const plain = tokenize(await html(''), options);
    const font = tokenize(await html('<font color="#ff0000" face="Arial">'), options);
    const div = tokenize(await html('<div color="#ff0000" face="Arial">'), options);
    for (const word of ['color', 'ff0000', 'face', 'arial', 'html:font']) expect([...font.ids]).toContain(idOf(word));
    expect([...div.ids]).toContain(idOf('html:div'));
    expect([...div.ids]).not.toContain(idOf('arial'));
    expect(div.ids.length).toBe(plain.ids.length + 1);
  });

  it("reads the subject's words both as subject words and as body words, counting them once", async () => {
    const parsed = await parse(`Subject: lottery winner
Content-Type: text/plain

claim your prize
`);
    const tokens = tokenize(parsed, { ...DEFAULT_TOKENIZER_OPTIONS, headers: false });
    for (const word of ['s:lottery', 'lottery', 's:winner', 'winner']) expect([...tokens.ids]).toContain(idOf(word));
    expect(tokens.words).toBe(5);
  });

  it('reads the body words written with capitals also as written, without pairs and without counting them', async () => {
    const capitals = await parse(`Subject: offer
Content-Type: text/plain

Click here for FREE Ｍｏｎｅｙ, Ünlü, now
`);
    const lower = await parse(`Subject: offer
Content-Type: text/plain

click here for free money, ünlü, now
`);
    const options = { ...DEFAULT_TOKENIZER_OPTIONS, headers: false };
    const written = tokenize(capitals, options);
    const folded = tokenize(lower, options);
    // NFKC first (the full-width letters are plain ones), then the written form, beside the folded one.
    for (const word of ['c:Click', 'c:FREE', 'c:Money', 'c:Ünlü', 'click', 'free', 'money', 'ünlü']) expect([...written.ids]).toContain(idOf(word));
    for (const word of ['c:here', 'c:now', 'c:for']) expect([...written.ids]).not.toContain(idOf(word));
    // Exactly the four written forms more than the same text in lower case: no pairs of them.
    expect(written.ids.length).toBe(folded.ids.length + 4);
    expect(written.words).toBe(folded.words);
  });

  it('understands a Chinese spam as well as an English one: as many words', async () => {
    const zh = await parse(`From: a@example.cn
Subject: =?UTF-8?B?${Buffer.from('代开发票').toString('base64')}?=
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

${Buffer.from('本公司长期代开各地正规发票，税点优惠，欢迎来电咨询。').toString('base64')}
`);
    const tokens = tokenize(zh);
    expect(tokens.words).toBeGreaterThanOrEqual(8);
  });
});

describe('header tokens', () => {
  const header = `From: a@example.org
Subject: hello there
Content-Type: text/plain

hello there my friend, how are you today
`;
  const ids = async (raw: string) => [...tokenize(await parse(raw)).ids];

  it('does not read headers the receiving side adds: mailbox flags, other filters, list headers', async () => {
    const plain = await ids(header);
    const annotated = await ids(`X-Keywords: junk
X-Status: RO
X-Spam-Status: Yes, score=12
Delivered-To: me@example.net
List-Id: <friends.lists.example.net>
X-Beenthere: friends@lists.example.net
${header}`);
    expect(annotated).toEqual(plain);
  });

  it("does not read what list managers and relays write on the way: the list's bounce address, sendmail's sender note", async () => {
    const plain = await ids(header);
    // As Mailman and sendmail write them (the FORK list's messages in the SpamAssassin public corpus).
    const relayed = await ids(`Sender: fork-admin@xent.com
Errors-To: fork-admin@xent.com
X-Authentication-Warning: lair.xent.com: fork set sender to fork-admin@xent.com using -f
${header}`);
    expect(relayed).toEqual(plain);
  });

  it('reads the Received path without its dates and queue ids, keeping the time zone', async () => {
    const hop = (id: string, date: string) =>
      `Received: from mx.sender.example (mx.sender.example [192.0.2.7]) by mail.example.org (Postfix) with ESMTP id ${id}; ${date}\n${header}`;
    const a = await ids(hop('A1B2C3', 'Thu, 28 Nov 2002 06:09:37 -0800'));
    const b = await ids(hop('Z9Y8X7', 'Mon, 3 Mar 2003 21:00:01 -0800'));
    const c = await ids(hop('Z9Y8X7', 'Mon, 3 Mar 2003 21:00:01 +0900'));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a.length).toBeGreaterThan((await ids(header)).length);
  });

  it("reads a hop's host names as words, without their parent domains: those name the relays of one site", async () => {
    const tokens = await ids(`Received: from mx.sender.example (mx.sender.example [192.0.2.7]) by mail.example.org (Postfix) with ESMTP\n${header}`);
    expect(tokens).toContain(idOf('rcvd:w:mail.example.org'));
    expect(tokens).toContain(idOf('rcvd:with:esmtp'));
    expect(tokens).not.toContain(idOf('rcvd:by:example.org'));
    expect(tokens).not.toContain(idOf('rcvd:by:mail.example.org'));
  });

  it('reads To: by how it is addressed, not by the words of its addresses', async () => {
    const toUser = await ids(`To: Jane Doe <jane@mail.example.net>\n${header}`);
    const toList = await ids(`To: fork@lists.example.org\n${header}`);
    expect(toList).toEqual(toUser);
    const toTwo = await ids(`To: jane@mail.example.net, fork@lists.example.org\n${header}`);
    expect(toTwo).not.toEqual(toUser);
  });

  it('says once that a message is HTML without a text part: by its Content-Type, or by a token of its own when that says multipart', async () => {
    const html = '<html><body><p>hello there my friend, how are you today</p></body></html>';
    const single = await ids(`From: a@example.org\nSubject: hello\nContent-Type: text/html\n\n${html}\n`);
    expect(single).toContain(idOf('ctype:text/html'));
    expect(single).not.toContain(idOf('body:html-only'));
    const related = await ids(`From: a@example.org\nSubject: hello\nMIME-Version: 1.0\nContent-Type: multipart/related; boundary="b"\n\n--b\nContent-Type: text/html\n\n${html}\n--b--\n`);
    expect(related).toContain(idOf('ctype:multipart/related'));
    expect(related).toContain(idOf('body:html-only'));
  });

  it('says that a word was written with look-alike letters of another script, in the subject or the body', async () => {
    const plain = await ids('From: a@example.org\nSubject: your account\nContent-Type: text/plain; charset=utf-8\n\nPlease verify your PayPal account.\n');
    const inBody = await ids('From: a@example.org\nSubject: your account\nContent-Type: text/plain; charset=utf-8\n\nPlease verify your \u0420\u0430yPal account.\n');
    const inSubject = await ids('From: a@example.org\nSubject: your P\u0430yPal account\nContent-Type: text/plain; charset=utf-8\n\nPlease verify it.\n');
    const russian = await ids('From: a@example.org\nSubject: \u043f\u0440\u0438\u0432\u0435\u0442\nContent-Type: text/plain; charset=utf-8\n\n\u043f\u0440\u0438\u0432\u0435\u0442 PayPal\n');
    expect(plain).not.toContain(idOf('shape:lookalike-letters'));
    expect(inBody).toContain(idOf('shape:lookalike-letters'));
    expect(inBody).toContain(idOf('paypal'));
    expect(inSubject).toContain(idOf('shape:lookalike-letters'));
    expect(inSubject).toContain(idOf('s:paypal'));
    expect(russian).not.toContain(idOf('shape:lookalike-letters'));
  });

  it('does not count the hops: a hop the collecting site repeats adds no token', async () => {
    const hop = 'Received: from mx.sender.example (mx.sender.example [192.0.2.7]) by mail.example.org (Postfix) with ESMTP\n';
    const once = await ids(`${hop}${header}`);
    const thrice = await ids(`${hop}${hop}${hop}${header}`);
    expect(new Set(thrice)).toEqual(new Set(once));
  });
});

describe('hash', () => {
  it('is stable and spreads both halves', () => {
    expect(hashString('viagra')).toEqual(hashString('viagra'));
    expect(hashString('viagra')).not.toEqual(hashString('viagrb'));
    expect(hashString('').high).not.toBe(hashString('').low);
  });
});

describe('mergeTokenIds', () => {
  it('merges two sorted lists, keeping each id once with the list it came from', () => {
    const merged = mergeTokenIds(BigInt64Array.from([-5n, 1n, 7n]), BigInt64Array.from([-9n, 1n, 3n, 20n]));
    expect([...merged.ids]).toEqual([-9n, -5n, 1n, 3n, 7n, 20n]);
    expect([...merged.kinds]).toEqual([1, 0, 0, 1, 0, 1]);
    expect([...mergeTokenIds(new BigInt64Array(0), BigInt64Array.from([2n])).kinds]).toEqual([1]);
  });

  it('carries the first list\'s kinds and gives the second list\'s ids the kind asked for', () => {
    const merged = mergeTokenIds(BigInt64Array.from([-5n, 1n, 7n]), BigInt64Array.from([-9n, 1n, 3n]), Uint8Array.from([0, 2, 0]), 1);
    expect([...merged.ids]).toEqual([-9n, -5n, 1n, 3n, 7n]);
    expect([...merged.kinds]).toEqual([1, 0, 2, 1, 0]);
    expect([...mergeTokenIds(BigInt64Array.from([4n]), BigInt64Array.from([2n]), undefined, 2).kinds]).toEqual([2, 0]);
  });

  it('orders ids that differ only in one 32-bit half, and signs, as 64-bit integers', () => {
    const ids = [-(2n ** 63n), -(2n ** 32n), -(2n ** 32n) + 1n, -1n, 0n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 63n - 1n];
    const builder = new TokenIdBuilder();
    for (const id of [...ids].reverse()) builder.push({ low: Number(BigInt.asUintN(32, id)), high: Number(BigInt.asUintN(32, id >> 32n)) });
    builder.push({ low: 0, high: 0 }); // a repeat
    const built = builder.build();
    expect([...built]).toEqual(ids);
    const odd = BigInt64Array.from(ids.filter((_, i) => i % 2 === 1));
    const even = BigInt64Array.from(ids.filter((_, i) => i % 2 === 0));
    expect([...mergeTokenIds(even, odd).ids]).toEqual(ids);
    expect([...mergeTokenIds(odd, even).kinds]).toEqual(ids.map((_, i) => (i % 2 === 0 ? 1 : 0)));
  });

  it('hands its words on when built: the next builder starts empty, and a built one is empty again', () => {
    const first = new TokenIdBuilder(4);
    for (let i = 1; i <= 10; i++) first.push({ low: i, high: 0 });
    expect(first.build().length).toBe(10);
    expect(first.build().length).toBe(0);
    first.push({ low: 3, high: 0 });
    expect([...first.build()]).toEqual([3n]);
    const next = new TokenIdBuilder(4);
    next.push({ low: 7, high: 1 });
    expect([...next.build()]).toEqual([2n ** 32n + 7n]);
  });
});
