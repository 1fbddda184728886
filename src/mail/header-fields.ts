// Header fields of a message or a MIME part: split and unfolded, encoded words (RFC 2047) decoded,
// structured values with parameters (RFC 2045) and parameter continuations (RFC 2231) read.
import { charsetKey, decodeCharset, decodeHeaderBytes } from './charset.ts';

/** One header field as received: `key` lowercased, `line` the raw bytes as Latin-1 with its folds (CRLF) kept. */
export interface HeaderLine {
  key: string;
  line: string;
}

/** A structured value: `text/plain; charset=utf-8` → `{ value: 'text/plain', params: { charset: 'utf-8' } }`. */
export interface HeaderValue {
  value: string;
  params: Record<string, string>;
  /** Parameters given in RFC 2231 form, already decoded: encoded words in them are text, not to be decoded again. */
  decodedParams: string[];
}

const isFold = (c: number) => c === 0x20 || c === 0x09;

/**
 * Splits a header block (Latin-1) into fields. Continuation lines (starting with SP or HTAB) join
 * the field before them with CRLF. A first line `From …` (an mbox envelope) or `POST …` is no field.
 */
export function splitHeaderLines(block: string): HeaderLine[] {
  let end = block.length;
  while (end > 0 && (block.charCodeAt(end - 1) === 0x0a || block.charCodeAt(end - 1) === 0x0d)) end--;
  const raw = block.slice(0, end).split(/\r?\n/);
  let i = 1;
  let first = raw[0];
  while (i < raw.length && isFold(raw[i].charCodeAt(0))) first += '\r\n' + raw[i++];
  const lines: HeaderLine[] = [];
  if (!/^(?:From|POST) /i.test(first)) lines.push({ key: first.slice(0, Math.max(0, first.indexOf(':'))).trim().toLowerCase(), line: first });
  // A field without a colon may take its name from a continuation line that has one.
  let keyPending = false;
  for (; i < raw.length; i++) {
    const current = raw[i];
    if (isFold(current.charCodeAt(0))) {
      const entry = lines[lines.length - 1];
      if (keyPending) {
        const colon = current.indexOf(':');
        if (colon >= 0) {
          entry.key = (entry.line + '\r\n' + current.slice(0, colon)).trim().toLowerCase();
          keyPending = false;
        }
      }
      entry.line += '\r\n' + current;
    } else {
      const colon = current.indexOf(':');
      lines.push({ key: current.slice(0, Math.max(0, colon)).trim().toLowerCase(), line: current });
      keyPending = colon < 0;
    }
  }
  return lines;
}

/** The value of a field: unfolded, after the first colon, trimmed; '' when the line has no `name:`. */
export function unfoldedValue(line: string): string {
  const unfolded = line.replace(/(?:\r?\n|\r)[ \t]*/g, ' ').trim();
  const m = /^\s*([^:]+):(.*)$/.exec(unfolded);
  return m ? m[2].trim() : '';
}

const EIGHT_BIT = /[\u0080-\u00ff]/;

/** Raw 8-bit header bytes (held as Latin-1) read as UTF-8, or in the message's `charset` when they are not UTF-8 (`decodeHeaderBytes`). */
export function rawHeaderText(latin1: string, charset?: string): string {
  return EIGHT_BIT.test(latin1) ? decodeHeaderBytes(Buffer.from(latin1, 'latin1'), charset) : latin1;
}

/** Raw 8-bit header bytes read as UTF-8 when they are valid UTF-8, else kept as Latin-1. */
export function utf8OrLatin1(latin1: string): string {
  if (!EIGHT_BIT.test(latin1)) return latin1;
  const utf8 = Buffer.from(latin1, 'latin1').toString('utf8');
  return utf8.includes('\ufffd') ? latin1 : utf8;
}

/** Base64 as mail readers take it: characters outside the alphabet skipped, each padded segment decoded on its own. */
export function decodeBase64Text(text: string): Buffer {
  // Buffer reads only the low byte of a character; beyond Latin-1 nothing is base64.
  const str = /[^\u0000-\u00ff]/.test(text) ? text.replace(/[^\u0000-\u00ff]+/g, '') : text;
  const pad = str.indexOf('=');
  if (pad < 0 || !/[a-zA-Z0-9+/\-_]/.test(str.slice(pad))) return Buffer.from(str, 'base64');
  const out = Buffer.alloc(Math.floor((str.length * 3) / 4));
  let length = 0;
  for (let start = 0; start <= str.length;) {
    let end = str.indexOf('=', start);
    if (end < 0) end = str.length;
    if (end > start) length += out.write(str.substring(start, end), length, 'base64');
    start = end + 1;
  }
  return out.subarray(0, length);
}

/** The value of one hexadecimal digit's character code, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** The text of one encoded word `=?charset?encoding?text?=` (RFC 2047; a language suffix `*en` is ignored, RFC 2231 section 5). */
export function decodeWord(charset: string, encoding: string, text: string): string {
  const star = charset.indexOf('*');
  if (star >= 0) charset = charset.slice(0, star);
  let bytes: Buffer;
  const e = encoding.toUpperCase();
  if (e === 'Q') {
    // A space after `=` is a misplaced fold; `_` is a space (RFC 2047 4.2).
    const buf = Buffer.from(text.replace(/=\s+([0-9a-fA-F])/g, '=$1').replace(/[_\s]/g, ' '));
    const out: number[] = [];
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i];
      if (c === 0x3d && i + 2 < buf.length) {
        const hi = hexValue(buf[i + 1]);
        const lo = hexValue(buf[i + 2]);
        if (hi >= 0 && lo >= 0) {
          out.push(hi * 16 + lo);
          i += 2;
          continue;
        }
      }
      out.push(c);
    }
    bytes = Buffer.from(out);
  } else if (e === 'B') {
    bytes = decodeBase64Text(text);
  } else {
    bytes = Buffer.from(text);
  }
  return decodeCharset(bytes, charset);
}

const B_PAIR = /(=\?([^?]+)\?[Bb]\?[^?]*\?=)\s*(?==\?([^?]+)\?[Bb]\?[^?]*\?=)/g;
const Q_PAIR = /(=\?([^?]+)\?[Qq]\?[^?]*\?=)\s*(?==\?([^?]+)\?[Qq]\?[^?]*\?=)/g;
const JOIN = '__\x00JOIN\x00__';

/**
 * Decodes the encoded words of a header value (RFC 2047). Adjacent words of one charset are joined
 * before decoding, so a character split across two words (as mailers split long UTF-8 subjects)
 * comes out whole; whitespace between encoded words is dropped (RFC 2047 6.2).
 */
export function decodeWords(str: string): string {
  if (!str.includes('=?')) return str;
  const markJoin = (match: string, left: string, a: string, b: string) => (charsetKey(a) === charsetKey(b) ? left + JOIN : match);
  return str
    .replace(B_PAIR, markJoin)
    .replace(Q_PAIR, markJoin)
    .replace(/(\?=)?__\x00JOIN\x00__(=\?([^?]+)\?[QqBb]\?)?/g, '')
    .replace(/(=\?[^?]+\?[QqBb]\?[^?]*\?=)\s+(?==\?[^?]+\?[QqBb]\?[^?]*\?=)/g, '$1')
    .replace(/=\?([\w_\-*]+)\?([QqBb])\?([^?]*)\?=/g, (_m, charset: string, encoding: string, text: string) => decodeWord(charset, encoding, text));
}

const isWsp = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\f' || c === '\v';

/** Offset of the `)` closing the comment that opens at `start` (comments nest, `\` escapes), or -1. */
function commentEnd(str: string, start: number): number {
  let depth = 0;
  for (let i = start; i < str.length; i++) {
    const c = str[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Reads `value; name=token; name="quoted string"`. A parameter given twice keeps its first value;
 * with `stripComments`, comments outside quoted strings are dropped (`boundary=b (comment)` names `b`),
 * but a `(` inside a token is part of it (`filename=Invoice(1).pdf`). RFC 2231 continuations
 * (`name*0*=utf-8''…; name*1*=…`) are joined and decoded.
 */
export function parseHeaderValue(str: string, options: { stripComments?: boolean } = {}): HeaderValue {
  let stripComments = !!options.stripComments;
  const response: HeaderValue = { value: '', params: Object.create(null) as Record<string, string>, decodedParams: [] };
  let key: string | false = false;
  let value = '';
  let valueEnd = 0;
  let inKey = false;
  let quote = false;
  let quoteClosed = false;
  let escaped = false;
  let tokenOpen = false;
  const commit = () => {
    const collected = value.slice(0, valueEnd);
    value = '';
    valueEnd = 0;
    if (inKey) {
      const name = collected.toLowerCase();
      if (name && !(name in response.params)) response.params[name] = '';
    } else if (key === false) response.value = collected;
    else if (!(key in response.params)) response.params[key] = collected;
  };
  for (let i = 0; i < str.length; i++) {
    const c = str[i];
    if (stripComments && c === '(' && !quote && !escaped && !tokenOpen) {
      let end = commentEnd(str, i);
      // An unclosed comment runs to the end, unless a parameter follows: then it is content.
      if (end < 0 && str.indexOf(';', i) < 0) end = str.length - 1;
      if (end >= 0) {
        i = end;
        continue;
      }
      stripComments = false;
    }
    if (inKey) {
      if (c === '=') {
        key = value.slice(0, valueEnd).toLowerCase();
        value = '';
        valueEnd = 0;
        inKey = false;
        tokenOpen = true;
      } else if (c === ';') commit();
      else if (isWsp(c)) {
        if (value.length) value += c;
      } else {
        value += c;
        valueEnd = value.length;
      }
      continue;
    }
    if (quoteClosed && c !== ';') {
      // What follows a closed quoted string up to the `;` is not part of the value.
      escaped = false;
      continue;
    }
    if (escaped) {
      value += c;
      valueEnd = value.length;
      tokenOpen = key !== false && !quote;
    } else if (c === '\\') {
      escaped = true;
      continue;
    } else if (c === '"') {
      quoteClosed = quote;
      quote = !quote;
      tokenOpen = false;
    } else if (!quote && c === ';') {
      commit();
      inKey = true;
      tokenOpen = false;
      quoteClosed = false;
    } else if (!quote && isWsp(c)) {
      if (value.length) value += c;
      tokenOpen = false;
    } else {
      value += c;
      valueEnd = value.length;
      tokenOpen = key !== false && !quote;
    }
    escaped = false;
  }
  commit();
  joinContinuations(response);
  return response;
}

/** RFC 2231 section 3 and 4: `name*0=…; name*1=…` joined in order; `name*=charset'lang'%XX` decoded. */
function joinContinuations(response: HeaderValue): void {
  const continuations = new Map<string, { charset: string | false; values: { nr: number; value: string }[] }>();
  for (const key of Object.keys(response.params)) {
    let match = /\*((\d+)\*?)?$/.exec(key);
    if (!match) continue;
    const name = key.slice(0, match.index).toLowerCase();
    const nr = Number(match[2]) || 0;
    let value = response.params[key];
    delete response.params[key];
    let continuation = continuations.get(name);
    if (!continuation) continuations.set(name, (continuation = { charset: false, values: [] }));
    if (nr === 0 && match[0].endsWith('*') && (match = /^([^']*)'[^']*'(.*)$/.exec(value))) {
      continuation.charset = match[1] || 'utf-8';
      value = match[2];
    }
    continuation.values.push({ nr, value });
  }
  for (const [name, continuation] of continuations) {
    // The extended form wins over a plain parameter of the same name (RFC 6266 4.3).
    const value = continuation.values.sort((a, b) => a.nr - b.nr).map((v) => v.value).join('');
    response.decodedParams.push(name);
    if (!continuation.charset) {
      response.params[name] = decodeWords(value);
      continue;
    }
    const qp = value.replace(/[=_\s]/g, (s) => (s === ' ' ? '_' : '%' + s.charCodeAt(0).toString(16).padStart(2, '0'))).replace(/%/g, '=');
    response.params[name] = decodeWord(continuation.charset, 'Q', qp);
  }
}
