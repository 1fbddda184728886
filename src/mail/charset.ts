// Bytes in a declared charset to text, through the WHATWG decoders of TextDecoder. Names and
// fallbacks follow what mail readers do: an unknown or refused charset is read as UTF-8.

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

/**
 * The charset of a body part: US-ASCII and UTF-8 (and a missing charset) are read as UTF-8, so
 * 8-bit bytes in a part that claims ASCII come out as U+FFFD rather than as Latin-1 letters.
 */
export function decodeBody(bytes: Uint8Array, charset: string | undefined): string {
  const name = (charset ?? '').toLowerCase().replace(/[^a-z0-9]+/g, '');
  if (name === '' || name === 'ascii' || name === 'usascii' || name === 'utf8') {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }
  return decodeCharset(bytes, charset!);
}
