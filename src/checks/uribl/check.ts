// Domain lists (DBL / URIBL / SURBL style): the envelope-sender domain at MAIL FROM, so a listed
// sender can be refused before the body; the From domain and every linked domain once the body is in.
import type { Check, ScanContext, SymbolHit } from '../../scan/types.ts';
import type { MailContent } from '../../mail/mime.ts';
import { defineSymbols } from '../../scan/symbols.ts';
import { domainOf, type Allowlist } from '../client/allowlist.ts';
import type { Blocklists } from '../dnsbl/blocklists.ts';
import { messageDomains, registrableDomain } from './extract.ts';

defineSymbols({
  URIBL_DBL_SPAM: { weight: 7, description: 'A linked or sender domain is listed in the Spamhaus DBL as a spam domain' },
  URIBL_DBL_PHISH: { weight: 7, description: 'A linked or sender domain is listed in the Spamhaus DBL as a phishing domain' },
  URIBL_DBL_MALWARE: { weight: 7, description: 'A linked or sender domain is listed in the Spamhaus DBL as a malware domain' },
  URIBL_DBL_BOTNET: { weight: 7, description: 'A linked or sender domain is listed in the Spamhaus DBL as a botnet C&C domain' },
  URIBL_DBL_ABUSED_SPAM: { weight: 2.5, description: 'A linked domain is a legitimate domain abused by spammers (DBL)' },
  URIBL_DBL_ABUSED_REDIRECTOR: { weight: 1.5, description: 'A linked domain is an abused redirector or URL shortener (DBL)' },
  URIBL_DBL_ABUSED_PHISH: { weight: 5, description: 'A linked domain is a legitimate domain abused for phishing (DBL)' },
  URIBL_DBL_ABUSED_MALWARE: { weight: 5, description: 'A linked domain is a legitimate domain abused for malware (DBL)' },
  URIBL_DBL_ABUSED_BOTNET: { weight: 3, description: 'A linked domain is a legitimate domain abused for botnet C&C (DBL)' },
  URIBL_DBL_BLOCKED: { weight: 0, description: 'The Spamhaus DBL refused our query (127.255.255.x); not a listing' },
  URIBL_ERROR: { weight: 0, description: 'A domain list lookup failed (DNS timeout or error), or the message could not be read' },
});

export interface UriblOptions {
  blocklists: Blocklists;
  allowlist: Allowlist;
  /** Distinct domains looked up per message at most. */
  maxDomains: number;
}

export function uriblChecks(options: UriblOptions): Check[] {
  const { blocklists, allowlist, maxDomains } = options;
  const skipped = (ctx: ScanContext) => allowlist.skipsBlocklists(ctx.envelope.clientIp, ctx.envelope.mailFrom);
  return [
    {
      name: 'uribl-sender',
      family: 'URIBL',
      stage: 'mail',
      async run(ctx) {
        if (skipped(ctx)) return [];
        const domain = registrableDomain(domainOf(ctx.envelope.mailFrom));
        return domain ? blocklists.lookupDomains([{ value: domain, source: 'mail from' }], ctx) : [];
      },
    },
    {
      name: 'uribl',
      family: 'URIBL',
      stage: 'data',
      async run(ctx) {
        if (skipped(ctx) || !ctx.message) return [];
        const parsed = ctx.message.parsed;
        const envelopeDomain = domainOf(ctx.envelope.mailFrom);
        const domains = messageDomains({
          senders: [envelopeDomain, ...fromDomains(parsed)],
          // An unreadable message is still searched, in its raw form, for links.
          html: parsed ? (parsed.html || undefined) : ctx.message.raw.toString('latin1'),
          text: parsed?.text,
        }, maxDomains);
        // The envelope-sender domain was already asked at MAIL FROM.
        const items = domains.filter((d) => d.source !== 'mail from').map((d) => ({ value: d.domain, source: d.source }));
        const hits: SymbolHit[] = await blocklists.lookupDomains(items, ctx);
        if (!parsed) hits.push({ name: 'URIBL_ERROR', detail: 'message not parsed; links searched in the raw message' });
        return hits;
      },
    },
  ];
}

function fromDomains(parsed: MailContent | null): string[] {
  const from = parsed?.from ?? [];
  return from.map((a) => domainOf(a.address ?? '')).filter((d) => d !== '');
}
