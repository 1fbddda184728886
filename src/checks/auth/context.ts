// What the authentication checks need, and the per-transaction state they share between stages.
import { isIP } from 'node:net';
import type { DnsLayer } from '../../dns/types.ts';
import { messageResolver } from '../../dns/budget.ts';
import { mailauthResolver, type MailauthResolver } from '../../dns/mailauth.ts';
import type { Envelope } from '../../scan/types.ts';

export interface AuthDeps {
  dns: DnsLayer;
  /** Our name: the SPF comment's receiver (`mx.example.net: domain of … designates …`). */
  hostname: string;
  /** DNS lookups one message may cause (shared with every other family through the same budget). */
  maxQueriesPerMessage: number;
  /** Time one evaluation may take before it reports TEMPERROR; keep it under the pipeline's check timeout. */
  evaluationTimeoutMs: number;
  /** ARC sealers trusted to vouch for mail that fails DMARC after forwarding. */
  trustedArcSealers: readonly string[];
  /** Applies DMARC `pct` sampling; replaceable in tests. */
  random?: () => number;
  /** The time signatures are checked against (t=, x=); replaceable to verify old test vectors. */
  now?: () => Date;
}

export function resolverFor(deps: AuthDeps, envelope: Envelope, signal?: AbortSignal): MailauthResolver {
  return mailauthResolver(messageResolver(deps.dns, envelope, deps.maxQueriesPerMessage), signal);
}

/** HELO as SPF sees it: an address literal in brackets (RFC 7208 section 2.3). */
export function heloIdentity(envelope: Envelope): string {
  const helo = envelope.helo || envelope.clientIp;
  return isIP(helo) ? `[${helo}]` : helo;
}
