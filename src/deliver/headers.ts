// Header surgery on the raw message: remove what a sender must not claim, add our trace and verdict.
// Works on latin1 strings so that 8-bit bytes pass through unchanged.
import type { Verdict } from '../scan/types.ts';

export interface SplitMessage {
  /** Header fields, each with its folded continuation lines, without the final line break. */
  fields: string[];
  /** The line break the message uses. */
  eol: string;
  /** Everything after the blank line that ends the header (may be empty). */
  body: Buffer;
}

/** Where the header ends and the body starts, and the line break the message uses. */
interface HeaderBounds {
  headerEnd: number;
  eol: string;
  bodyStart: number;
}

function headerBounds(raw: Buffer): HeaderBounds {
  // Searched in the bytes: only the header becomes a string, however large the body.
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf <= lf - 1)) return { headerEnd: crlf, eol: '\r\n', bodyStart: crlf + 4 };
  if (lf >= 0) return { headerEnd: lf, eol: '\n', bodyStart: lf + 2 };
  // Header only, no blank line: the whole message is header.
  return {
    headerEnd: raw.length - (raw.at(-1) !== 0x0a ? 0 : raw.at(-2) === 0x0d ? 2 : 1),
    eol: raw.includes('\r\n') || !raw.includes('\n') ? '\r\n' : '\n',
    bodyStart: raw.length,
  };
}

export function splitMessage(raw: Buffer): SplitMessage {
  return splitAt(raw, headerBounds(raw));
}

function splitAt(raw: Buffer, { headerEnd, eol, bodyStart }: HeaderBounds): SplitMessage {
  const fields: string[] = [];
  for (const line of raw.toString('latin1', 0, headerEnd).split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length) fields[fields.length - 1] += eol + line;
    else if (line.length) fields.push(line);
  }
  return { fields, eol, body: raw.subarray(Math.min(bodyStart, raw.length)) };
}

export function joinMessage(m: SplitMessage): Buffer {
  const head = m.fields.map((f) => f + m.eol).join('') + m.eol;
  return Buffer.concat([Buffer.from(head, 'latin1'), m.body]);
}

export function fieldName(field: string): string {
  const i = field.indexOf(':');
  return (i < 0 ? field : field.slice(0, i)).trim().toLowerCase();
}

/** A sender must not pre-label his own mail: drop X-Spam-* and Authentication-Results claiming our authserv-id. */
export function isForgedVerdictField(field: string, authservId: string): boolean {
  const name = fieldName(field);
  if (name.startsWith('x-spam-')) return true;
  if (name !== 'authentication-results') return false;
  const value = field.slice(field.indexOf(':') + 1).replace(/\(.*?\)/g, ' ').trim();
  const claimed = value.split(/[;\s]/, 1)[0]?.toLowerCase() ?? '';
  return claimed === authservId.toLowerCase();
}

export function spamHeaders(verdict: Verdict): string[] {
  const flagged = verdict.score >= verdict.required;
  const tests = verdict.symbols.map((s) => s.name).sort().join(',') || 'none';
  const level = '*'.repeat(Math.max(0, Math.min(50, Math.floor(verdict.score))));
  const fields = [
    `X-Spam-Score: ${verdict.score.toFixed(1)}`,
    `X-Spam-Level: ${level}`,
    `X-Spam-Status: ${flagged ? 'Yes' : 'No'}, score=${verdict.score.toFixed(1)} required=${verdict.required.toFixed(1)} tests=${tests}`,
  ];
  if (flagged) fields.unshift('X-Spam-Flag: YES');
  return fields.map((f) => fold(f));
}

export function authenticationResults(authservId: string, results: readonly string[]): string {
  if (!results.length) return `Authentication-Results: ${authservId}; none`;
  return `Authentication-Results: ${authservId};\r\n\t${results.join(';\r\n\t')}`;
}

export interface ReceivedInfo {
  helo: string;
  clientHostname?: string;
  clientIp: string;
  hostname: string;
  /** SMTP, ESMTP or ESMTPS (RFC 3848). */
  protocol: string;
  tid: string;
  /** Named only for a single recipient, as MTAs do, so a message does not reveal its other recipients. */
  rcptTo: string[];
  date: Date;
}

export function receivedField(r: ReceivedInfo): string {
  const client = r.clientHostname && r.clientHostname !== `[${r.clientIp}]` ? `${r.clientHostname} ` : '';
  const ip = r.clientIp.includes(':') ? `IPv6:${r.clientIp}` : r.clientIp;
  const forPart = r.rcptTo.length === 1 ? `\r\n\tfor <${r.rcptTo[0]}>` : '';
  return `Received: from ${sanitize(r.helo) || 'unknown'} (${sanitize(client)}[${ip}])\r\n\tby ${r.hostname} (Sluice) with ${r.protocol} id ${r.tid}${forPart};\r\n\t${rfc5322Date(r.date)}`;
}

/** Rebuilds the message with forged verdict fields removed and ours prepended, in the message's own line breaks. */
export function rewriteHeaders(raw: Buffer, authservId: string, prepend: readonly string[]): Buffer {
  const bounds = headerBounds(raw);
  const { eol } = bounds;
  const addedFields = prepend.map((f) => f.replace(/\r\n/g, eol));
  const kept = keptRuns(raw.toString('latin1', 0, bounds.headerEnd), eol, authservId);
  if (!kept) {
    // Mixed line breaks: splitMessage evens them out to the message's own.
    const m = splitAt(raw, bounds);
    return joinMessage({ ...m, fields: [...addedFields, ...m.fields.filter((f) => !isForgedVerdictField(f, authservId))] });
  }
  const added = addedFields.map((f) => f + eol).join('');
  // The kept fields are copied as bytes: runs of them, each followed by a line break, then the blank line and the body.
  let size = added.length + eol.length + raw.length - bounds.bodyStart;
  for (let i = 0; i < kept.length; i += 2) size += kept[i + 1] - kept[i] + eol.length;
  const out = Buffer.allocUnsafe(size);
  let at = out.write(added, 0, 'latin1');
  for (let i = 0; i < kept.length; i += 2) {
    at += raw.copy(out, at, kept[i], kept[i + 1]);
    at += out.write(eol, at, 'latin1');
  }
  at += out.write(eol, at, 'latin1');
  raw.copy(out, at, bounds.bodyStart);
  return out;
}

/**
 * The header's fields that are not forged verdict fields, as [start, end) runs of whole fields
 * (without the last line break); null when its lines do not all end in `eol`, which splitMessage
 * would even out. Only a field whose name may start with x- or a- is read as a string.
 */
function keptRuns(header: string, eol: string, authservId: string): number[] | null {
  if (header.startsWith('\n') || header.startsWith('\r\n')) return null;
  const runs: number[] = [];
  let fieldStart = -1;
  let fieldEnd = -1;
  for (let pos = 0; pos < header.length;) {
    const lf = header.indexOf('\n', pos);
    const next = lf < 0 ? header.length : lf + 1;
    let lineEnd = lf < 0 ? header.length : lf;
    if (lf >= 0 && header.charCodeAt(lf - 1) === 0x0d) lineEnd--;
    if (lf >= 0 && lf - lineEnd !== eol.length - 1) return null;
    const c = header.charCodeAt(pos);
    if ((c === 0x20 || c === 0x09) && fieldStart >= 0) fieldEnd = lineEnd;
    else if (lineEnd > pos) {
      if (fieldStart >= 0) keepField(runs, header, fieldStart, fieldEnd, eol, authservId);
      [fieldStart, fieldEnd] = [pos, lineEnd];
    }
    pos = next;
  }
  if (fieldStart >= 0) keepField(runs, header, fieldStart, fieldEnd, eol, authservId);
  return runs;
}

/** Adds the field `header.slice(start, end)` to `runs` unless it is a forged verdict field. */
function keepField(runs: number[], header: string, start: number, end: number, eol: string, authservId: string): void {
  const c = header.charCodeAt(start);
  // Names that String.trim() and toLowerCase() could turn into x-spam-… or authentication-results.
  const suspect = c <= 0x20 || c === 0xa0 || (c | 0x20) === 0x78 || (c | 0x20) === 0x61;
  if (suspect && isForgedVerdictField(header.slice(start, end), authservId)) return;
  // A field right after the last kept one extends its run.
  if (runs.length && runs[runs.length - 1] + eol.length === start) runs[runs.length - 1] = end;
  else runs.push(start, end);
}

export function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Folds a long field at commas or spaces so no line passes 78 characters where it can be helped. */
function fold(field: string): string {
  if (field.length <= 78) return field;
  const out: string[] = [];
  let line = '';
  for (const part of field.split(/(?<=[, ])/)) {
    if (line.length + part.length > 76 && line.trim().length) {
      out.push(line.trimEnd());
      line = '\t';
    }
    line += part;
  }
  out.push(line);
  return out.join('\r\n');
}

/** Client-supplied names go into our header: keep them printable and free of parentheses. */
function sanitize(s: string): string {
  return s.replace(/[^\x21-\x7e ]/g, '?').replace(/[()]/g, '').slice(0, 255);
}
