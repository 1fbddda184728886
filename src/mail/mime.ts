// A synchronous MIME walker over a received message: what the content checks read (header fields,
// decoded text and HTML, the attachment list), without an object model or streams. It reads a
// message the way mailparser (with mailsplit) does, which stays the reference: same boundaries
// (nested, preamble and epilogue ignored, a delimiter of any enclosing multipart closes the parts
// within), same transfer and charset decoding, same text and HTML assembly, same limits; but text in a
// legacy charset that it does not name is read in the one a detector names (charset.ts, readUnlabelled).
import { readBody, type BodyText } from './charset.ts';
import { decodeBase64Text, decodeWords, hexValue, parseHeaderValue, rawHeaderText, splitHeaderLines, unfoldedValue, utf8OrLatin1, type HeaderLine, type HeaderValue } from './header-fields.ts';
import { mediaTypeOf } from './media-types.ts';
import { formatAddresses, htmlEscape, parseAddresses, type Mailbox } from './addresses.ts';

export type { HeaderLine, HeaderValue } from './header-fields.ts';
export type { Mailbox } from './addresses.ts';

export interface Attachment {
  filename?: string;
  /** Lowercased; an `application/octet-stream` part with a filename takes the type its extension names. */
  contentType: string;
  /** Decoded bytes. */
  size: number;
}

/** What the content checks read of a message. */
export interface MailContent {
  /** Fields of the top-level header, in order. */
  headerLines: HeaderLine[];
  /** The first non-empty Subject, encoded words decoded. */
  subject?: string;
  /** The first From field's mailboxes. */
  from?: Mailbox[];
  /** The mailboxes of every To field. */
  to?: Mailbox[];
  replyTo?: Mailbox[];
  /** `<id>`, brackets added when missing. */
  messageId?: string;
  /** The top-level Content-Type, parameters decoded. */
  contentType?: HeaderValue;
  /**
   * The charset that raw 8-bit header bytes which are not UTF-8 are read in: the message's first text
   * part's, declared or detected; unset without one, or when it names none and is UTF-8.
   */
  headerCharset?: string;
  /** The text parts, joined with `\n`; line ends are `\n`. */
  text?: string;
  /** The HTML parts (and, beside them, empty entries for text parts outside an alternative), joined with `<br/>\n`. */
  html?: string;
  attachments: Attachment[];
}

/** A structure no mail client writes and the walker refuses: the content checks cannot read the body. */
export class MimeLimitError extends Error {}

// mailsplit's limits, so the walker refuses what the reference refuses.
const MAX_PARTS = 1000;
const MAX_HEADER_BYTES = 1024 * 1024;
// A header line counts at least this much against MAX_HEADER_BYTES: 1 MiB is at most 16k lines.
const HEADER_LINE_MIN_COST = 64;
// Whitespace a delimiter line may carry before its line end (RFC 2046 5.1.1 allows it), bounded by
// the length of a header line (RFC 5322 2.1.1).
const BOUNDARY_TRAILING_WSP = 998;

const TEXT_TYPES = new Set(['text/plain', 'text/html', 'message/delivery-status']);

interface Part {
  parent: Part | null;
  /** The nearest enclosing part whose delimiters end this one: the parent, or for an embedded message's root, the message's own parent. */
  owner: Part | null;
  /** multipart/<subtype>: its lines between delimiters are preamble and epilogue, not a body. */
  multipart: boolean;
  boundary: Buffer | null;
  headerStart: number;
  headerEnd: number;
  headerBytes: number;
  headerCost: number;
  lines: HeaderLine[] | null;
  contentType: string;
  charset: string;
  encoding: string;
  disposition: string;
  filename: string;
  flowed: boolean;
  delSp: boolean;
  /** A `message/rfc822` part shown inline: its content is read as a message, with its own header. */
  messageNode: boolean;
  bodyStart: number;
  bodyEnd: number;
  children: Part[];
}

function newPart(parent: Part | null): Part {
  return {
    parent, owner: parent, multipart: false, boundary: null, headerStart: -1, headerEnd: -1, headerBytes: 0, headerCost: 0, lines: null,
    contentType: '', charset: '', encoding: '', disposition: '', filename: '', flowed: false, delSp: false, messageNode: false,
    bodyStart: -1, bodyEnd: -1, children: [],
  };
}

/** Reads `raw` into what the checks need; throws MimeLimitError on over 1,000 parts or a part header over 1 MiB. */
export function readMail(raw: Buffer): MailContent {
  const parts = splitParts(raw);
  return assemble(raw, parts);
}

/** The parts of a message in document order, each header parsed: a port of mailsplit's line machine over one buffer. */
function splitParts(raw: Buffer): Part[] {
  const machine = new LineMachine(raw);
  const len = raw.length;
  let pos = 0;
  for (;;) {
    const nl = raw.indexOf(0x0a, pos);
    if (nl < 0) {
      // The last line, without a line end (or, after a final line end, an empty one).
      machine.line(pos, len, true);
      break;
    }
    machine.line(pos, nl + 1, false);
    pos = nl + 1;
  }
  for (const part of machine.emitted) if (part.bodyStart >= 0 && part.bodyEnd < 0) part.bodyEnd = len;
  return machine.emitted;
}

/**
 * mailsplit's line machine, fed one line at a time. A class, not closures made per message: its
 * methods keep their optimized code, which a message's closures lose at a garbage collection.
 */
class LineMachine {
  readonly emitted: Part[] = [];
  private readonly raw: Buffer;
  private count = 0;
  private node: Part;
  private inHead = true;
  private inEpilogue = false;
  private delimiterOwner: Part | null = null;

  constructor(raw: Buffer) {
    this.raw = raw;
    this.node = this.open(null);
  }

  private open(parent: Part | null): Part {
    this.count++;
    this.inHead = true;
    this.inEpilogue = false;
    return newPart(parent);
  }

  private emit(part: Part): void {
    this.emitted.push(part);
    part.parent?.children.push(part);
  }

  /** 1: next part, 2: end of the multipart, of the line `start..end` against `boundary`; 0: no delimiter. */
  private compare(start: number, end: number, skip: number, boundary: Buffer): number {
    const raw = this.raw;
    const length = end - start;
    if (length < boundary.length + 3 + skip || length > boundary.length + 2 + 2 + BOUNDARY_TRAILING_WSP + 2 + skip) return 0;
    const from = start + skip + 2;
    if (raw.compare(boundary, 0, boundary.length, from, from + boundary.length) !== 0) return 0;
    let i = from + boundary.length;
    let result = 1;
    if (i < end && raw[i] === 0x2d) {
      if (i + 1 >= end || raw[i + 1] !== 0x2d) return 0;
      result = 2;
      i += 2;
    }
    while (i < end && (raw[i] === 0x20 || raw[i] === 0x09)) i++;
    // Only the closing delimiter may end the input without a line end.
    if (i === end) return result === 2 ? 2 : 0;
    while (i < end && raw[i] === 0x0d) i++;
    if (i < end && raw[i] === 0x0a) i++;
    return i === end ? result : 0;
  }

  private delimiter(start: number, end: number): number {
    const raw = this.raw;
    let skip = 0;
    if (raw[start] === 0x0d || raw[start] === 0x0a) {
      skip = raw[start] === 0x0d && raw[start + 1] === 0x0a && start + 1 < end ? 2 : 1;
    }
    if (end - start < 4 || raw[start + skip] !== 0x2d || raw[start + skip + 1] !== 0x2d) return 0;
    let r: number;
    if (!this.inEpilogue && this.node.boundary && (r = this.compare(start, end, skip, this.node.boundary))) return r;
    for (let owner = this.node.owner; owner; owner = owner.owner) {
      if (owner.boundary && (r = this.compare(start, end, skip, owner.boundary))) {
        this.delimiterOwner = owner;
        return r + 2;
      }
    }
    return 0;
  }

  /** A part's body ends before a delimiter line, without the line end before it: that is part of the delimiter (RFC 2046 5.1.1). */
  private endBody(at: number): void {
    const node = this.node;
    if (this.inHead || node.bodyStart < 0 || node.bodyEnd >= 0 || node.multipart) return;
    let end = at;
    if (node.parent) {
      if (end > node.bodyStart && this.raw[end - 1] === 0x0a) end--;
      if (end > node.bodyStart && this.raw[end - 1] === 0x0d) end--;
    }
    node.bodyEnd = end;
  }

  line(start: number, end: number, final: boolean): void {
    const raw = this.raw;
    if (this.count > MAX_PARTS) throw new MimeLimitError('Max allowed child nodes exceeded');
    const found = end > start ? this.delimiter(start, end) : 0;
    if (found) {
      this.endBody(start);
      if (found === 1) this.node = this.open(this.node);
      else if (found === 3) this.node = this.open(this.delimiterOwner);
      else if (found === 4) {
        // A part closed while still in its header: it has a header and no body.
        if (this.node.headerBytes && !this.node.lines) {
          parsePartHeader(raw, this.node);
          this.emit(this.node);
        }
        this.node = this.delimiterOwner!;
        this.inEpilogue = true;
        this.inHead = false;
      }
      return;
    }
    if (!this.inHead) return;
    const node = this.node;
    const length = end - start;
    const endsBlock = (length === 1 && raw[start] === 0x0a) || (length === 2 && raw[start] === 0x0d && raw[start + 1] === 0x0a);
    node.headerBytes += length;
    node.headerCost += endsBlock ? length : Math.max(length, HEADER_LINE_MIN_COST);
    if (node.headerCost > MAX_HEADER_BYTES) throw new MimeLimitError('Max header size for a MIME node exceeded');
    if (node.headerStart < 0) node.headerStart = start;
    node.headerEnd = end;
    if (!final && !endsBlock) return;
    parsePartHeader(raw, node);
    if (node.contentType === 'message/rfc822' && ['', '7bit', '8bit', 'binary'].includes(node.encoding) && node.disposition === 'inline') {
      node.messageNode = true;
      this.emit(node);
      this.node = this.open(node);
      // The embedded message continues inside its container: the container's delimiters still end it.
      if (node.parent) this.node.owner = node.parent;
    } else {
      this.inHead = false;
      node.bodyStart = end;
      this.emit(node);
    }
  }
}

/** The header fields a part's structure depends on, as mailsplit reads them. */
function parsePartHeader(raw: Buffer, part: Part): void {
  const lines = part.headerStart < 0 ? [] : splitHeaderLines(raw.toString('latin1', part.headerStart, part.headerEnd));
  part.lines = lines;
  const first = (key: string) => {
    const found = lines.find((l) => l.key === key);
    return found ? unfoldedValue(utf8OrLatin1(found.line)) : '';
  };
  const disposition = parseHeaderValue(first('content-disposition'), { stripComments: true });
  let contentTypeField: string;
  if (lines.some((l) => l.key === 'content-type')) contentTypeField = first('content-type');
  else {
    // No Content-Type: the filename's extension names the type, else an attachment is octet-stream, else text.
    const filename = disposition.params.filename;
    const extension = filename ? extensionOf(filename) : '';
    if (extension) contentTypeField = mediaTypeOf(extension);
    else contentTypeField = /^attachment$/i.test(disposition.value) ? 'application/octet-stream' : 'text/plain';
  }
  const contentType = parseHeaderValue(contentTypeField, { stripComments: true });
  part.encoding = stripLineComments(first('content-transfer-encoding')).toLowerCase().trim();
  part.contentType = contentType.value.toLowerCase().trim();
  part.charset = contentType.params.charset ?? '';
  part.disposition = decodeWords(disposition.value.toLowerCase().trim());
  const fromDisposition = disposition.params.filename;
  part.filename = fromDisposition || contentType.params.name || '';
  if (part.filename) {
    // A parameter in RFC 2231 form is decoded already: an encoded word in it is text.
    const decoded = fromDisposition ? disposition.decodedParams.includes('filename') : contentType.decodedParams.includes('name');
    if (!decoded) part.filename = decodeWords(part.filename);
  }
  // format=flowed is for text/plain only (RFC 3676).
  if (part.contentType === 'text/plain' && contentType.params.format?.toLowerCase().trim() === 'flowed') {
    part.flowed = true;
    part.delSp = contentType.params.delsp?.toLowerCase().trim() === 'yes';
  }
  const slash = part.contentType.indexOf('/');
  part.multipart = part.contentType.slice(0, slash) === 'multipart' && slash < part.contentType.length - 1;
  if (part.multipart) {
    // A boundary is ASCII (RFC 2046 5.1.1, bchars); one with other characters counts as none.
    const boundary = (contentType.params.boundary ?? '').trimEnd();
    if (boundary && Buffer.byteLength(boundary) === boundary.length) part.boundary = Buffer.from(boundary, 'latin1');
  }
}

/** Mailsplit drops comments of the transfer encoding from the first `(` to the last `)` of each line. */
function stripLineComments(value: string): string {
  if (!value.includes('(')) return value;
  return value.split(/([\n\r\u2028\u2029])/).map((part) => {
    const start = part.indexOf('(');
    const end = part.lastIndexOf(')');
    return start >= 0 && end > start ? part.slice(0, start) + part.slice(end + 1) : part;
  }).join('');
}

/** `report.PDF` → `pdf`, as path.extname reads it (a leading dot is a hidden file's name, not an extension). */
function extensionOf(filename: string): string {
  const base = filename.slice(filename.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1) : '';
}

interface ReadPart {
  part: Part;
  /** The type mailparser gives a part: its Content-Type, or text/plain for a top-level part without one. */
  type: string;
  isRoot: boolean;
  text?: string;
  showMeta: boolean;
}

function assemble(raw: Buffer, parts: Part[]): MailContent {
  const root = parts[0];
  const content: MailContent = { headerLines: root.lines ?? [], attachments: [] };
  // The charset of the first text part, declared or detected: raw 8-bit header bytes are in it.
  let textCharset: string | undefined;
  let hasText = false;
  let hasHtml = false;
  const read = new Map<Part, ReadPart>();
  for (const part of parts) {
    const type = part.contentType || (part.parent ? '' : 'text/plain');
    const entry: ReadPart = { part, type, isRoot: part === root, showMeta: part.parent?.contentType === 'message/rfc822' && !part.messageNode };
    read.set(part, entry);
    if (/^multipart\//i.test(type) || part.messageNode) continue;
    let disposition = part.disposition;
    if (disposition && disposition !== 'attachment' && disposition !== 'inline') disposition = 'attachment';
    if (!disposition) disposition = TEXT_TYPES.has(type) ? 'inline' : 'attachment';
    if (TEXT_TYPES.has(type) && disposition === 'inline') {
      if (type === 'text/html') hasHtml = true;
      else hasText = true;
      const decoded = partText(raw, part);
      entry.text = decoded.text;
      textCharset ??= decoded.detected ?? part.charset;
    } else {
      content.attachments.push({
        ...(part.filename ? { filename: part.filename } : {}),
        contentType: type === 'application/octet-stream' && part.filename ? mediaTypeOf(part.filename) : type,
        size: decodedSize(raw, part),
      });
    }
  }

  const text: string[] = [];
  const html: string[] = [];
  const walk = (entry: ReadPart, alternative: boolean) => {
    if (entry.showMeta) embeddedHeader(entry.part.lines ?? [], hasText ? text : null, hasHtml ? html : null);
    if (entry.text) {
      if (entry.type === 'text/html') {
        // Where the HTML stands for a part of the text, the text gets an empty entry in its place.
        if ((!alternative && hasText) || (entry.isRoot && !hasText)) text.push('');
        html.push(entry.text);
      } else {
        text.push(entry.text);
        if (!alternative && hasHtml) html.push('');
      }
    }
    const inAlternative = alternative || entry.type === 'multipart/alternative';
    for (const child of entry.part.children) walk(read.get(child)!, inAlternative);
  };
  walk(read.get(root)!, false);
  if (textCharset) content.headerCharset = textCharset;
  Object.assign(content, topLevelFields(content.headerLines, content.headerCharset));
  if (text.length) content.text = text.join('\n');
  const joined = html.join('<br/>\n');
  if (joined) content.html = joined;
  return content;
}

function bodyOf(raw: Buffer, part: Part): Buffer {
  return part.bodyStart < 0 ? raw.subarray(0, 0) : raw.subarray(part.bodyStart, Math.max(part.bodyStart, part.bodyEnd));
}

function transferDecoded(raw: Buffer, part: Part): Buffer {
  const body = bodyOf(raw, part);
  if (part.encoding === 'base64') return decodeBase64Body(body);
  if (part.encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

function partText(raw: Buffer, part: Part): BodyText {
  let bytes: Uint8Array = transferDecoded(raw, part);
  if (part.flowed) bytes = Buffer.from(decodeFlowed(Buffer.from(bytes).toString('latin1'), part.delSp), 'latin1');
  const read = readBody(bytes, part.charset || undefined, part.contentType === 'text/html');
  return { ...read, text: read.text.replace(/\r?\n/g, '\n') };
}

function decodedSize(raw: Buffer, part: Part): number {
  const body = bodyOf(raw, part);
  if (part.encoding === 'base64') return base64Size(body);
  if (part.encoding === 'quoted-printable') return decodeQuotedPrintable(body).length;
  return body.length;
}

const isBase64Char = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;

function decodeBase64Body(body: Buffer): Buffer {
  const text = body.toString('latin1');
  return decodeBase64Text(/[^a-zA-Z0-9+/=]/.test(text) ? text.replace(/[^a-zA-Z0-9+/=]+/g, '') : text);
}

/** What decodeBase64Body(body).length would be, without decoding: each padded segment of n characters gives ⌊3n/4⌋ bytes. */
function base64Size(body: Buffer): number {
  let size = 0;
  let run = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (isBase64Char(c)) run++;
    else if (c === 0x3d) {
      size += Math.floor((run * 3) / 4);
      run = 0;
    }
  }
  return size + Math.floor((run * 3) / 4);
}

/** Quoted-printable (RFC 2045 6.7): trailing whitespace dropped, soft line breaks joined, `=XX` decoded, anything else kept. */
function decodeQuotedPrintable(body: Buffer): Buffer {
  const input = body.toString('latin1')
    .replace(/(^|[^ \t])[ \t]+(?=[\n\r\u2028\u2029]|$)/g, '$1')
    .replace(/[=](?:\r?\n|$)/g, '');
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  const len = input.length;
  for (let i = 0; i < len; i++) {
    const code = input.charCodeAt(i);
    if (code === 0x3d && i < len - 2) {
      const hi = hexValue(input.charCodeAt(i + 1));
      const lo = hexValue(input.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    out[n++] = code;
  }
  return out.subarray(0, n);
}

/**
 * format=flowed (RFC 3676): a line ending in a space continues on the next of the same quote
 * depth; with delsp=yes that space was added for the fold and goes; space-stuffing is removed.
 */
function decodeFlowed(str: string, delSp: boolean): string {
  const lines = str.split(/\r?\n/);
  const result: string[] = [];
  let parts: string[] = [];
  let partsLength = 0;
  let depth = 0;
  let prefix = '';
  const push = (part: string) => {
    if (part) {
      parts.push(part);
      partsLength += part.length;
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const lineText = lines[i];
    let lineDepth = 0;
    while (lineText.charCodeAt(lineDepth) === 0x3e) lineDepth++;
    const prefixLength = lineDepth && lineText.charCodeAt(lineDepth) === 0x20 ? lineDepth + 1 : lineDepth;
    const body = lineText.slice(prefixLength);
    const last = parts.length ? parts[parts.length - 1] : '';
    // The signature separator "-- " is never a soft break.
    const soft = lineDepth === depth && last.endsWith(' ') && !(partsLength === 3 && parts.join('') === '-- ');
    if (soft) {
      if (delSp) {
        parts.pop();
        partsLength -= last.length;
        push(last.slice(0, -1));
        push(body);
      } else push(lineDepth ? body : body.replace(/^ /, ''));
    } else {
      if (i > 0) result.push(prefix + parts.join(''));
      parts = [];
      partsLength = 0;
      depth = lineDepth;
      prefix = lineText.slice(0, prefixLength);
      push(body);
    }
  }
  if (partsLength || prefix) result.push(prefix + parts.join(''));
  return result.join('\n').replace(/^ /gm, '');
}

/** The fields the checks read from the top-level header, decoded as mailparser decodes them. */
function topLevelFields(lines: HeaderLine[], charset: string | undefined): Omit<MailContent, 'headerLines' | 'attachments' | 'text' | 'html'> {
  const fields: Omit<MailContent, 'headerLines' | 'attachments' | 'text' | 'html'> = {};
  const value = (line: string) => fieldValue(line, charset);
  for (const { key, line } of lines) {
    switch (key) {
      case 'subject':
        fields.subject ||= decodeWords(value(line)) || undefined;
        break;
      case 'message-id':
        fields.messageId ||= messageIdFormat(decodeWords(value(line)));
        break;
      case 'from':
        fields.from ??= parseAddresses(value(line));
        break;
      case 'reply-to':
        fields.replyTo ??= parseAddresses(value(line));
        break;
      case 'to':
        (fields.to ??= []).push(...parseAddresses(value(line)));
        break;
      case 'content-type':
        fields.contentType ??= contentTypeValue(value(line));
        break;
    }
  }
  return fields;
}

/** A field's value: unfolded, trimmed, raw 8-bit bytes read as UTF-8, or in `charset` when they are not UTF-8. */
export function fieldValue(line: string, charset?: string): string {
  return rawHeaderText(unfoldedValue(line), charset);
}

/** The values of every `name` field of the top-level header, non-empty ones, in order. */
export function headerValues(content: MailContent, name: string): string[] {
  const values: string[] = [];
  for (const l of content.headerLines) {
    if (l.key !== name) continue;
    const value = fieldValue(l.line, content.headerCharset);
    if (value) values.push(value);
  }
  return values;
}

function contentTypeValue(value: string): HeaderValue {
  const parsed = parseHeaderValue(value, { stripComments: true });
  if (parsed.value) parsed.value = decodeWords(parsed.value);
  for (const key of Object.keys(parsed.params)) {
    if (!parsed.decodedParams.includes(key)) parsed.params[key] = decodeWords(parsed.params[key]);
  }
  return parsed;
}

function messageIdFormat(value: string): string | undefined {
  if (!value) return undefined;
  return `${value.startsWith('<') ? '' : '<'}${value}${value.endsWith('>') ? '' : '>'}`;
}

const META_FIELDS = ['From', 'Subject', 'Date', 'To', 'Cc', 'Bcc'] as const;

/**
 * The header of a message shown inline inside another (message/rfc822), as mail readers show it
 * above its body: From, Subject, Date, To, Cc, Bcc, as text and as an HTML table.
 */
function embeddedHeader(lines: HeaderLine[], text: string[] | null, html: string[] | null): void {
  const meta: { key: (typeof META_FIELDS)[number]; text: string; html: string }[] = [];
  for (const key of META_FIELDS) {
    const name = key.toLowerCase();
    const matching = lines.filter((l) => l.key === name);
    if (!matching.length) continue;
    if (key === 'Subject') {
      const subject = matching.map((l) => decodeWords(fieldValue(l.line))).find((s) => s);
      if (subject) meta.push({ key, text: subject, html: `<strong>${htmlEscape(subject)}</strong>` });
    } else if (key === 'Date') {
      const date = new Date(fieldValue(matching[0].line));
      const shown = (isNaN(date.getTime()) ? new Date() : date).toUTCString();
      meta.push({ key, text: shown, html: shown });
    } else {
      // From keeps its first field; the others their last.
      const addresses = parseAddresses(fieldValue((key === 'From' ? matching[0] : matching[matching.length - 1]).line));
      meta.push({ key, text: formatAddresses(addresses, 'text'), html: formatAddresses(addresses, 'html') });
    }
  }
  text?.push('\n' + meta.map((m) => `${m.key}: ${m.text}`).join('\n') + '\n');
  html?.push('<table class="mp_head">' + meta.map((m) => `<tr><td class="mp_head_key">${htmlEscape(m.key)}:</td><td class="mp_head_value">${m.html}<td></tr>`).join('\n') + '<table>');
}
