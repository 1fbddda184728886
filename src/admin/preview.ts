// A held message as the operator sees it: its header fields, a plain-text preview and our own
// authentication results. Nothing here is ever HTML: HTML bodies are reduced to text, so the page
// that shows them cannot run a script or fetch a remote image.
import { simpleParser, type ParsedMail } from 'mailparser';
import { decodeHtmlEntities } from '../mail/html-entities.ts';

export interface AuthResult {
  method: string;
  result: string;
  /** `reason="…"` when given. */
  reason?: string;
  /** Properties such as `smtp.mailfrom`, `header.d`. */
  props: Record<string, string>;
}

export interface MessageView {
  headers: { name: string; value: string }[];
  preview: { text: string; source: 'text' | 'html' | 'none'; truncated: boolean };
  attachments: { filename: string; contentType: string; size: number }[];
  authResults: AuthResult[];
  parseError?: string;
}

/** Characters of body text sent to the page. */
const PREVIEW_CHARS = 64_000;

export async function viewMessage(raw: Buffer, authservId: string): Promise<MessageView> {
  const headers = headerFields(raw);
  const authResults = ourAuthResults(headers, authservId);
  // Parsed whole, beyond checks.maxScanSize, by a full MIME parser (not the scan path's walker):
  // the operator sees every attachment, read by a second, independent reader.
  let parsed: ParsedMail | undefined;
  let parseError: string | undefined;
  try {
    parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true, skipHtmlToText: true });
  } catch (err) {
    parseError = (err as Error).message;
  }
  if (parsed) {
    let text = '';
    let source: MessageView['preview']['source'] = 'none';
    if (typeof parsed.text === 'string' && parsed.text.trim()) {
      text = parsed.text;
      source = 'text';
    } else if (typeof parsed.html === 'string' && parsed.html) {
      text = htmlToText(parsed.html);
      source = 'html';
    }
    return {
      headers,
      preview: { text: text.slice(0, PREVIEW_CHARS), source, truncated: text.length > PREVIEW_CHARS },
      attachments: parsed.attachments.map((a) => ({ filename: a.filename ?? '', contentType: a.contentType, size: a.size })),
      authResults,
    };
  }
  return { headers, preview: { text: '', source: 'none', truncated: false }, attachments: [], authResults, parseError };
}

/** The header block, unfolded, one entry per field in order. Raw bytes are read as latin1: a preview, not a decoder. */
export function headerFields(raw: Buffer): { name: string; value: string }[] {
  const text = raw.subarray(0, headerEnd(raw)).toString('latin1');
  const fields: { name: string; value: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && fields.length) {
      fields[fields.length - 1].value += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) fields.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
  }
  return fields;
}

function headerEnd(raw: Buffer): number {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return raw.length;
  if (crlf < 0) return lf;
  if (lf < 0) return crlf;
  return Math.min(crlf, lf);
}

/** The Authentication-Results fields that carry our authserv-id (RFC 8601); those of others are not trusted. */
export function ourAuthResults(headers: readonly { name: string; value: string }[], authservId: string): AuthResult[] {
  const results: AuthResult[] = [];
  for (const h of headers) {
    if (h.name.toLowerCase() !== 'authentication-results') continue;
    const parts = splitOutsideQuotes(stripComments(h.value), ';').map((p) => p.trim()).filter(Boolean);
    const id = parts.shift()?.split(/\s+/)[0]?.toLowerCase();
    if (id !== authservId.toLowerCase()) continue;
    for (const part of parts) {
      const tokens = splitOutsideQuotes(part, ' ').map((t) => t.trim()).filter(Boolean);
      const first = tokens.shift();
      if (!first || !first.includes('=')) continue; // `none`
      const [method, result] = splitOnce(first);
      const r: AuthResult = { method: method.toLowerCase(), result: result.toLowerCase(), props: {} };
      for (const t of tokens) {
        if (!t.includes('=')) continue;
        const [k, v] = splitOnce(t);
        if (k.toLowerCase() === 'reason') r.reason = unquote(v);
        else r.props[k] = unquote(v);
      }
      results.push(r);
    }
  }
  return results;
}

function splitOnce(s: string): [string, string] {
  const i = s.indexOf('=');
  return [s.slice(0, i), s.slice(i + 1)];
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s;
}

function stripComments(s: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      if (!depth) out += c + s[i + 1];
      i++;
    } else if (c === '"' && !depth) {
      quoted = !quoted;
      out += c;
    } else if (c === '(' && !quoted) depth++;
    else if (c === ')' && !quoted && depth) depth--;
    else if (!depth) out += c;
  }
  return out;
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      current += c + s[++i];
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (c === sep && !quoted) {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/**
 * HTML reduced to readable text: scripts, styles and comments dropped, block ends become line breaks,
 * links keep their target in brackets (the operator should see where a phishing link goes), entities decoded.
 */
export function htmlToText(html: string): string {
  return decodeHtmlEntities(
    html
      .replace(/<!--[\s\S]*?-->/g, '')
      .replace(/<(script|style|head|title|template|noscript)\b[\s\S]*?<\/\1\s*>/gi, '')
      .replace(/<a\b[^>]*?\bhref\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))[^>]*>([\s\S]*?)<\/a\s*>/gi, (_m, _q, d, s, b, inner: string) => `${inner} [${d ?? s ?? b}]`)
      .replace(/<br\s*\/?>/gi, '\n')
      .replace(/<\/(p|div|tr|li|h[1-6]|table|blockquote|section|article)\s*>/gi, '\n')
      .replace(/<li\b[^>]*>/gi, '• ')
      .replace(/<[^>]*>/g, ''),
  )
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

