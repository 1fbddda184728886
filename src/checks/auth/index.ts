// The authentication family: SPF at MAIL FROM; DKIM, ARC and DMARC once the body is in.
import type { Config } from '../../config/schema.ts';
import type { DnsLayer } from '../../dns/types.ts';
import type { Check } from '../../scan/types.ts';
import type { AuthDeps } from './context.ts';
import { spfCheck } from './spf.ts';
import { arcCheck, dkimCheck, dmarcCheck } from './checks.ts';

export { authForceRules, rejectTextFor } from './policy.ts';
export type { AuthDeps } from './context.ts';

/** Leaves the pipeline's per-check limit a margin, so a slow DNS gives TEMPERROR rather than `<FAMILY>_ERROR`. */
export function authDeps(config: Readonly<Config>, dns: DnsLayer): AuthDeps {
  return {
    dns,
    hostname: config.smtp.hostname,
    maxQueriesPerMessage: config.dns.maxQueriesPerMessage,
    evaluationTimeoutMs: Math.max(100, config.checks.timeoutMs - 500),
    trustedArcSealers: config.dmarc.trustedArcSealers,
  };
}

export function authChecks(deps: AuthDeps): Check[] {
  return [spfCheck(deps), dkimCheck(deps), arcCheck(deps), dmarcCheck(deps)];
}
