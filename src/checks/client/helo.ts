// HELO/EHLO sanity. RFC 5321 §4.1.4: the argument is the client's fully qualified domain name, or
// an address literal when it has none. Bots send bare IPs, single words, or our own name.
import { isIPv4, isIPv6 } from 'node:net';
import type { Check, SymbolHit } from '../../scan/types.ts';
import { defineSymbols } from '../../scan/symbols.ts';
import type { Allowlist } from './allowlist.ts';
import { isLoopback } from './rdns.ts';

defineSymbols({
  HELO_INVALID: { weight: 1.5, description: 'HELO is neither a host name nor an address literal (e.g. a bare IP address)' },
  HELO_NOT_FQDN: { weight: 0.5, description: 'HELO is a single-label name, not a fully qualified domain name' },
  HELO_OURS: { weight: 4.0, description: 'HELO claims our own host name or a domain we accept mail for' },
});

export interface HeloCheckOptions {
  /** Our host name (smtp.hostname). */
  hostname: string;
  /** Domains we accept mail for. */
  domains: readonly string[];
  /** Allowlisted clients (our own servers) may of course use our names. */
  allowlist: Allowlist;
}

export function heloCheck(options: HeloCheckOptions): Check {
  const ours = new Set([options.hostname, ...options.domains].map((n) => n.toLowerCase().replace(/\.$/, '')));
  return {
    name: 'helo',
    family: 'HELO',
    // HELO is known once the client sends MAIL FROM.
    stage: 'mail',
    async run(ctx) {
      // Local processes (a content filter, `sluice check`) and allowlisted servers are not judged on HELO.
      const ip = ctx.envelope.clientIp;
      if (isLoopback(ip) || options.allowlist.hasClient(ip)) return [];
      return heloHits(ctx.envelope.helo, ours);
    },
  };
}

export function heloHits(helo: string, ours: ReadonlySet<string>): SymbolHit[] {
  const value = (helo ?? '').trim();
  const kind = classifyHelo(value);
  if (kind === 'literal') return [];
  if (kind === 'invalid' || kind === 'bare-ip') {
    return [{ name: 'HELO_INVALID', detail: kind === 'bare-ip' ? 'bare IP address' : printable(value) }];
  }
  const name = value.toLowerCase().replace(/\.$/, '');
  if (ours.has(name)) return [{ name: 'HELO_OURS', detail: name }];
  if (kind === 'single-label') return [{ name: 'HELO_NOT_FQDN', detail: printable(value) }];
  return [];
}

export type HeloKind = 'fqdn' | 'single-label' | 'literal' | 'bare-ip' | 'invalid';

export function classifyHelo(value: string): HeloKind {
  const literal = /^\[(.*)\]$/.exec(value);
  if (literal) {
    const inner = literal[1];
    if (isIPv4(inner)) return 'literal';
    if (/^IPv6:/i.test(inner) && isIPv6(inner.slice(5))) return 'literal';
    return 'invalid';
  }
  if (isIPv4(value) || isIPv6(value)) return 'bare-ip';
  const name = value.replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return 'invalid';
  const labels = name.split('.');
  const label = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
  if (!labels.every((l) => label.test(l))) return 'invalid';
  // An all-numeric top label is an IP address gone wrong (`1.2.3`), not a name.
  if (/^\d+$/.test(labels[labels.length - 1])) return 'invalid';
  return labels.length === 1 ? 'single-label' : 'fqdn';
}

/** A HELO is attacker-controlled: keep the detail short and printable. */
function printable(value: string): string {
  return value.replace(/[^\x21-\x7e]/g, '?').slice(0, 64);
}
