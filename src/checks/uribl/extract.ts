// Finds the domains a message points at: link targets and bare URLs in its text and HTML,
// each reduced to the registrable domain (public suffix list), because domain lists list those.
import { isIP } from 'node:net';
import { getDomain } from 'tldts';
import { decodeHtmlEntities } from '../../mail/html-entities.ts';

/** `scheme://[user@]host`: the host of absolute URLs anywhere in text or markup. */
const SCHEME_URL = /\b(?:https?|ftp):\/\/(?:[^\s/?#@"'<>]*@)?([^\s/?#:"'<>\\)\]]+)/gi;
/** Scheme-relative links (`href="//host/path"`) only count inside attributes. */
const RELATIVE_URL = /\b(?:href|src|action)\s*=\s*["']?\/\/([^\s/?#:"'<>\\]+)/gi;
/** `www.example.com` written without a scheme, as mail clients turn it into a link. */
const WWW_HOST = /(?<![\w.-])(www\d{0,3}\.[a-z0-9-]+(?:\.[a-z0-9-]+)+)/gi;

export interface DomainSources {
  /** Domains of the envelope sender and the From header, looked up first. */
  senders?: readonly string[];
  html?: string;
  text?: string;
}

export interface ExtractedDomain {
  domain: string;
  source: 'mail from' | 'from' | 'link';
}

/** The registrable domain of a host name: `a.b.example.co.uk` → `example.co.uk`; undefined for IPs and bad names. */
export function registrableDomain(host: string): string | undefined {
  let name = host.trim().toLowerCase().replace(/\.+$/, '');
  if (!name || isIP(name) || name.startsWith('[')) return undefined;
  if (/[^\x21-\x7e]/.test(name)) {
    // An internationalised name: lists are queried in its ASCII (punycode) form.
    try {
      name = new URL(`http://${name}/`).hostname;
    } catch {
      return undefined;
    }
  }
  if (!/^[a-z0-9_.-]+$/.test(name)) return undefined;
  return getDomain(name) ?? undefined;
}

/** Host names of links in markup or text, in order of appearance (duplicates kept; the caller dedups). */
export function linkHosts(content: string): string[] {
  // Character references decoded: `h&#116;tp&#58;//` style disguises show their host.
  const decoded = decodeHtmlEntities(content);
  const hosts: string[] = [];
  for (const pattern of [SCHEME_URL, RELATIVE_URL, WWW_HOST]) {
    for (const m of decoded.matchAll(pattern)) hosts.push(safeDecode(m[1]));
  }
  return hosts;
}

/** Distinct registrable domains, senders first, then links; at most `max`. */
export function messageDomains(sources: DomainSources, max: number): ExtractedDomain[] {
  const found = new Map<string, ExtractedDomain>();
  const add = (host: string, source: ExtractedDomain['source']) => {
    if (found.size >= max) return;
    const domain = registrableDomain(host);
    if (domain && !found.has(domain)) found.set(domain, { domain, source });
  };
  (sources.senders ?? []).forEach((d, i) => add(d, i === 0 ? 'mail from' : 'from'));
  // Links in the HTML part are what the reader clicks; the text part usually repeats them.
  for (const content of [sources.html, sources.text]) {
    if (content && found.size < max) for (const host of linkHosts(content)) add(host, 'link');
  }
  return [...found.values()];
}

/** Percent-encoded host names (`%65vil.com`) are decoded; a broken escape leaves the host as written. */
function safeDecode(host: string): string {
  if (!host.includes('%')) return host;
  try {
    return decodeURIComponent(host);
  } catch {
    return host;
  }
}
