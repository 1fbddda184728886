// smtp-server hands over envelope addresses with an internationalised domain decoded to Unicode
// (user@xn--bcher-kva.example arrives as user@bücher.example). DNS lookups, the `domains` list and a
// downstream without SMTPUTF8 all need the ASCII (A-label) form the client may well have sent.
import { domainToASCII } from 'node:url';

const ASCII = /^[\x00-\x7f]*$/;

/** A domain in its ASCII form, lowercased; one that is not a valid name is only lowercased. */
export function asciiDomain(domain: string): string {
  if (ASCII.test(domain)) return domain.toLowerCase();
  return domainToASCII(domain) || domain.toLowerCase();
}

/** The address with its domain in ASCII form; the local part is left as sent. */
export function withAsciiDomain(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  const domain = address.slice(at + 1);
  if (ASCII.test(domain) || domain.startsWith('[')) return address;
  return `${address.slice(0, at + 1)}${asciiDomain(domain)}`;
}
