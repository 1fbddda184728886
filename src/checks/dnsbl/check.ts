// The client IP looked up in the IP blocklists. Lookups start the moment the client connects
// (warming the DNS cache while it talks); the symbols are decided at MAIL FROM, when the sender
// allowlist can also be applied. Both stages finish before the RCPT reply, so a listed client
// is refused before it sends the body.
import { BlockList, isIP } from 'node:net';
import type { Check } from '../../scan/types.ts';
import { defineSymbols } from '../../scan/symbols.ts';
import type { Allowlist } from '../client/allowlist.ts';
import type { Blocklists } from './blocklists.ts';
import { ipv4Of } from '../../util/ip.ts';

// Spamhaus advises refusing mail from any ZEN listing at SMTP time: each listing alone reaches
// the default `reject` threshold (15).
defineSymbols({
  DNSBL_ZEN_SBL: { weight: 15, description: 'Client listed in the Spamhaus SBL (spam source)' },
  DNSBL_ZEN_SBL_CSS: { weight: 15, description: 'Client listed in the Spamhaus CSS (snowshoe or compromised spam source)' },
  DNSBL_ZEN_XBL: { weight: 15, description: 'Client listed in the Spamhaus XBL (infected or exploited machine)' },
  DNSBL_ZEN_DROP: { weight: 15, description: 'Client in a Spamhaus DROP network (hijacked or criminal netblock)' },
  DNSBL_ZEN_PBL: { weight: 15, description: 'Client in the Spamhaus PBL (end-user range that should not send direct to MX)' },
  DNSBL_ZEN_BLOCKED: { weight: 0, description: 'Spamhaus ZEN refused our query (127.255.255.x); not a listing' },
  DNSBL_ERROR: { weight: 0, description: 'An IP blocklist lookup failed (DNS timeout or error)' },
});

/** Addresses no public list can know: looking them up only leaks our traffic. Loopback stays, for RFC 5782 testing. */
const PRIVATE_NETWORKS = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  PRIVATE_NETWORKS.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [['fc00::', 7], ['fe80::', 10]] as const) PRIVATE_NETWORKS.addSubnet(net, bits, 'ipv6');

export function isPrivateAddress(ip: string): boolean {
  const v4 = ipv4Of(ip);
  return v4 ? PRIVATE_NETWORKS.check(v4, 'ipv4') : PRIVATE_NETWORKS.check(ip, 'ipv6');
}

export function dnsblChecks(blocklists: Blocklists, allowlist: Allowlist): Check[] {
  const lookable = (ip: string) => isIP(ip) !== 0 && !isPrivateAddress(ip) && !allowlist.hasClient(ip);
  const clientItem = (ip: string) => [{ value: ipv4Of(ip) ?? ip }];
  return [
    {
      name: 'dnsbl-prefetch',
      family: 'DNSBL',
      stage: 'connect',
      async run(ctx) {
        const ip = ctx.envelope.clientIp;
        if (!lookable(ip)) return [];
        // Answers land in the DNS cache (or stay in flight) for the MAIL FROM stage; nothing is reported here.
        await blocklists.prefetchIps(clientItem(ip), ctx);
        return [];
      },
    },
    {
      name: 'dnsbl',
      family: 'DNSBL',
      stage: 'mail',
      async run(ctx) {
        const { clientIp, mailFrom } = ctx.envelope;
        if (!lookable(clientIp) || allowlist.hasSender(mailFrom)) return [];
        return blocklists.lookupIps(clientItem(clientIp), ctx);
      },
    },
  ];
}
