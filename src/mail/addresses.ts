// Address fields (From, To, Reply-To…): mailboxes and groups, display names decoded (RFC 2047).
import { domainToUnicode } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import { decodeWords } from './header-fields.ts';

export interface Mailbox {
  name: string;
  /** Absent for a group; '' when the address hid an encoded word that is not a plain address. */
  address?: string;
  /** The members of a group (`Team: a@x, b@y;`). */
  group?: Mailbox[];
}

// An RFC 2047 encoded word.
const ENCODED_WORD = /[=]\?[^?]+\?[BbQq]\?[^?]*\?[=]/;

/** The mailboxes of a field's value (unfolded, 8-bit bytes already read as UTF-8). */
export function parseAddresses(value: string): Mailbox[] {
  return decodeMailboxes(addressparser(value) as Mailbox[]);
}

function decodeMailboxes(list: Mailbox[]): Mailbox[] {
  for (const box of list) {
    box.name = (box.name || '').toString().trim();
    // An encoded word decodes into the display name and nothing else (RFC 2047 section 5).
    if (box.name) box.name = decodeWords(box.name);
    // Encoded words may not stand in the address itself (RFC 2047 section 5): taken only when
    // they decode to a plain local@domain, so a hidden address is never reported as the sender.
    if (box.address && ENCODED_WORD.test(box.address)) {
      const decoded = decodeWords(box.address);
      box.address = /^[^\s@]+@[^\s@]+$/.test(decoded) && !/[=]\?/.test(decoded) ? decoded : '';
    }
    if (box.address && /@xn--/.test(box.address)) box.address = unicodeDomain(box.address);
    if (box.group) decodeMailboxes(box.group);
  }
  return list;
}

/** `user@xn--bcher-kva.example` → `user@bücher.example`; an invalid A-label leaves the address as it is. */
function unicodeDomain(address: string): string {
  const at = address.lastIndexOf('@');
  const labels = address.slice(at + 1).split('.');
  for (let i = 0; i < labels.length; i++) {
    if (!/^xn--/i.test(labels[i])) continue;
    const label = domainToUnicode(labels[i].toLowerCase());
    if (!label) return address;
    labels[i] = label;
  }
  return address.slice(0, at + 1) + labels.join('.');
}

/** Mailboxes as a reader is shown them: `"Name" <a@b>` as text, or the same HTML-escaped with mailto links. */
export function formatAddresses(list: Mailbox[], as: 'text' | 'html'): string {
  return list.map((box) => {
    let out = '';
    if (as === 'html') {
      out = '<span class="mp_address_group">';
      if (box.name) out += `<span class="mp_address_name">${htmlEscape(box.name)}${box.group ? ': ' : ''}</span>`;
      if (box.address) {
        const link = `<a href="mailto:${htmlEscape(box.address)}" class="mp_address_email">${htmlEscape(box.address)}</a>`;
        out += box.name ? ` &lt;${link}&gt;` : link;
      }
      if (box.group) out += formatAddresses(box.group, as) + ';';
      return out + '</span>';
    }
    if (box.name) out += `"${box.name.replace(/["\\]/g, '\\$&')}"${box.group ? ': ' : ''}`;
    if (box.address) out += box.name ? ` <${box.address}>` : box.address;
    if (box.group) out += formatAddresses(box.group, as) + ';';
    return out;
  }).join(', ');
}

/** HTML-escapes as mailparser's `he.encode` does: markup characters and everything outside printable ASCII as `&#xHEX;`. */
export function htmlEscape(text: string): string {
  return text.replace(/["&'<>`]|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\x01-\t\x0B\f\x0E-\x1F\x7F\x81\x8D\x8F\x90\x9D\xA0-\uFFFF]/g, (s) => `&#x${s.codePointAt(0)!.toString(16).toUpperCase()};`);
}
