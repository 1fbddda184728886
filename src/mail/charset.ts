// Bytes in a declared charset to text, through the WHATWG decoders of TextDecoder. Names and
// fallbacks follow what mail readers do: an unknown or refused charset is read as UTF-8, and text in
// an undeclared legacy charset in the one a detector names.
import { isUtf8 } from 'node:buffer';
import chardet from 'chardet';

// Charsets a body is never decoded from: UTF-7 can carry markup past a filter that looks for "<"
// (+ADw-script+AD4- decodes to <script>), base64 and hex are transfer encodings, not charsets.
const REFUSED = /^(?:(?:cs)?unicode11)?utf7(?:imap)?$|^base64$|^hex$/;

// Labels TextDecoder knows but mail readers do not take as a charset: the WHATWG standard reads
// `unicode` and `ucs-2` as UTF-16LE and `x-user-defined` as a browser-only mapping, while a mail
// client, never having such names from a mailer, falls back to UTF-8.
const NOT_MAIL_CHARSETS = new Set([
  'unicode', 'csunicode', 'unicodefeff', 'unicodefffe', 'iso-10646-ucs-2', 'x-user-defined',
  'replacement', 'csiso2022kr', 'hz-gb-2312', 'iso-2022-cn', 'iso-2022-cn-ext', 'iso-2022-kr',
]);

type Decoder = InstanceType<typeof TextDecoder>;
const UTF8: unique symbol = Symbol('utf-8');
const decoders = new Map<string, Decoder | typeof UTF8>();

/** Misspelt names mailers write, to the name a decoder knows: `win-1257` → `windows-1257`, `latin-2` → `iso-8859-2`. */
function respell(name: string): string {
  return name
    .replace(/^utf[-_]?(\d+)/, 'utf-$1')
    .replace(/^(?:us[-_]?)ascii/, 'windows-1252')
    .replace(/^win(?:dows)?[-_]?(\d+)/, 'windows-$1')
    .replace(/^(?:latin|iso[-_]?8859)?[-_]?(\d+)/, 'iso-8859-$1')
    .replace(/^l[-_]?(\d+)/, 'iso-8859-$1');
}

function tryDecoder(label: string): Decoder | undefined {
  if (NOT_MAIL_CHARSETS.has(label)) return undefined;
  try {
    return new TextDecoder(label);
  } catch {
    return undefined;
  }
}

function decoderFor(charset: string): Decoder | typeof UTF8 {
  let decoder = decoders.get(charset);
  if (decoder) return decoder;
  const name = charset.toLowerCase().trim();
  if (REFUSED.test(name.replace(/[^a-z0-9]/g, ''))) decoder = UTF8;
  else decoder = tryDecoder(name) ?? tryDecoder(respell(name)) ?? UTF8;
  if (decoder !== UTF8 && decoder.encoding === 'utf-8') decoder = UTF8;
  // Bounded: the names come from messages.
  if (decoders.size < 512) decoders.set(charset, decoder);
  return decoder;
}

/** What tells two charset names apart: names of one decoder are the same charset. */
export function charsetKey(charset: string): string {
  const decoder = decoderFor(charset);
  return decoder === UTF8 ? respell(charset.toLowerCase().trim()) : decoder.encoding;
}

// Bytes a Windows code page leaves undefined come out of TextDecoder as C1 controls; mail readers
// show them as U+FFFD, and no defined byte of those code pages maps into U+0080–U+009F.
const C1 = /[\u0080-\u009f]/g;

// ISO-2022-JP mode switches (WHATWG Encoding, 12.2.1).
const JIS_ESCAPES = /(?:\x1b(?:\(B|\(J|\(I|\$@|\$B))+(?=\x1b(?:\(B|\(J|\(I|\$@|\$B))/g;

/**
 * A mode switch followed at once by another: the WHATWG decoder reads it as an error (U+FFFD),
 * while mail readers take the last one. Mailers write such pairs where a subject is split into
 * several encoded words (RFC 2047) that are joined again before decoding.
 */
function withoutIdleEscapes(bytes: Uint8Array): Uint8Array {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return text.includes('\x1b') ? Buffer.from(text.replace(JIS_ESCAPES, ''), 'latin1') : bytes;
}

/** Decodes `bytes` as `charset`; an unknown or refused charset is read as UTF-8 with bad bytes replaced. */
export function decodeCharset(bytes: Uint8Array, charset: string): string {
  const decoder = decoderFor(charset);
  if (decoder === UTF8) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (decoder.encoding === 'iso-2022-jp') bytes = withoutIdleEscapes(bytes);
  const text = decoder.decode(bytes);
  return decoder.encoding.startsWith('windows-') ? text.replace(C1, '\ufffd') : text;
}

const UNLABELLED = new Set(['', 'ascii', 'usascii', 'utf8']);

/** A charset said of text that reads as UTF-8 when valid (`readUnlabelled`): none, US-ASCII, UTF-8. */
export function isUnlabelled(charset: string | undefined): boolean {
  return UNLABELLED.has((charset ?? '').toLowerCase().replace(/[^a-z0-9]+/g, ''));
}

/** Text of a body part, and the legacy charset it was found to be in when it does not say (`readUnlabelled`). */
export interface BodyText {
  text: string;
  detected?: string;
}

/**
 * The text of a body part: US-ASCII and UTF-8 (and a missing charset) are read by `readUnlabelled`, an
 * HTML part's in the charset its `<meta>` names when its bytes are not UTF-8.
 */
export function readBody(bytes: Uint8Array, charset: string | undefined, html = false): BodyText {
  if (!isUnlabelled(charset)) return { text: decodeCharset(bytes, charset!) };
  return readUnlabelled(bytes, html ? metaCharsetOf(bytes) : undefined);
}

// Where an HTML document names its charset (HTML, 13.2.3.2): in a <meta> near its start.
const META_CHARSET = /<meta\b[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)/i;
const META_BYTES = 2048;

/** The charset an HTML part's `<meta charset>` or `<meta http-equiv content="…; charset=…">` names. */
function metaCharsetOf(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, META_BYTES)).toString('latin1');
  return META_CHARSET.exec(head)?.[1];
}

// What the detector reads of a long text: enough to tell its charset (a detection takes about 1.5 ms).
const DETECT_BYTES = 4 * 1024;
// Detector names that are UTF-8 itself, or could read 8-bit junk as wide characters.
const NOT_DETECTED = /^(?:utf-|ascii)/i;
const NON_ASCII = /[^\x00-\x7f]/g;

/**
 * Bytes said to be ASCII or UTF-8, or of no declared charset. Valid UTF-8 (ASCII is) is read as such.
 * Bytes that are not, and not UTF-8 with a few bad bytes either, are text in a legacy charset the mailer
 * did not name (GB2312, Big5, Shift_JIS, KOI8-R, windows-1252…: much Asian, Cyrillic and older mail),
 * which UTF-8 would turn into replacement characters, every word lost: read in the charset a detector
 * names, as Thunderbird and Firefox read undeclared text (keeping its links: `decodeKeepingLinks`), or
 * in the one the text `named` itself (an HTML part's `<meta>`), as they read that first. Else UTF-8 with
 * bad bytes replaced.
 */
export function readUnlabelled(bytes: Uint8Array, named?: string): BodyText {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = buffer.toString('utf8');
  if (isUtf8(buffer)) return { text: utf8 };
  // UTF-8 with a few bad bytes (a truncated character, a stray Latin-1 letter) stays UTF-8.
  const nonAscii = utf8.match(NON_ASCII) ?? [];
  let bad = 0;
  for (const c of nonAscii) if (c === '\ufffd') bad++;
  if (bad * 2 < nonAscii.length) return { text: utf8 };
  let guess: string | null;
  if (named && !isUnlabelled(named) && decoderFor(named) !== UTF8) guess = named;
  else if (isolatedEightBit(buffer)) guess = 'windows-1252';
  else guess = chardet.detect(buffer.subarray(0, DETECT_BYTES));
  if (!guess || NOT_DETECTED.test(guess)) return { text: utf8 };
  const text = decodeKeepingLinks(buffer, guess, utf8);
  return text === undefined ? { text: utf8 } : { text, detected: guess };
}

/**
 * Whether no two 8-bit bytes stand together: Western text with a few accented letters or typographic
 * quotes and dashes, in the Windows code page (which browsers also read text labelled Latin-1 in).
 * Cyrillic, Greek or Hebrew words are runs of 8-bit bytes, and so is a sentence in a multi-byte charset
 * (a Big5 or Shift_JIS character may end in an ASCII byte, but not every one of a sentence does).
 */
function isolatedEightBit(buffer: Buffer): boolean {
  for (let i = 1; i < buffer.length; i++) if (buffer[i] >= 0x80 && buffer[i - 1] >= 0x80) return false;
  return true;
}

/**
 * Raw 8-bit bytes of a header field: UTF-8 when valid, else in `charset` (the message's, which a mailer
 * that writes raw 8-bit headers writes them in), else UTF-8 with bad bytes replaced. A field is too short
 * for a detector to tell its charset.
 */
export function decodeHeaderBytes(bytes: Uint8Array, charset: string | undefined): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = buffer.toString('utf8');
  if (isUtf8(buffer) || !charset || isUnlabelled(charset)) return utf8;
  return decodeKeepingLinks(buffer, charset, utf8) ?? utf8;
}

// The WHATWG decoders that read a character from more than one byte, of which an ASCII one may be the second.
const MULTI_BYTE = new Set(['gbk', 'gb18030', 'big5', 'shift_jis', 'euc-jp', 'euc-kr', 'iso-2022-jp']);
// A link as the checks find one in text: what a multi-byte decoding must not take apart.
const LINK = /(?:https?:\/\/|www\.)[\x21-\x7e]+/gi;

/**
 * The bytes decoded as `charset`, unless that takes apart a link that reading them as UTF-8 (`utf8`) shows: a
 * multi-byte charset reads an ASCII byte after a lead byte as part of one character (Big5, GBK and
 * Shift_JIS trail bytes include letters), and text written to hide a link from the checks would pick
 * its bytes so. Markup cannot be hidden so: no such charset takes `<`, `>`, `"`, `=` or a space as a trail byte.
 */
function decodeKeepingLinks(buffer: Buffer, charset: string, utf8: string): string | undefined {
  const decoder = decoderFor(charset);
  if (decoder === UTF8) return undefined;
  const text = decodeCharset(buffer, charset);
  if (!MULTI_BYTE.has(decoder.encoding)) return text;
  const links = utf8.match(LINK) ?? [];
  return links.every((link) => text.includes(link)) ? text : undefined;
}
