// How authentication results turn into actions: force rules for the scorer, and the words of a refusal.
import type { Action, Verdict } from '../../scan/types.ts';

export interface AuthPolicyConfig {
  spf: { rejectFail: boolean };
  dmarc: { enforce: boolean };
}

/**
 * Force rules to merge into the scorer's `force` map. DMARC enforcement applies the sender's own policy;
 * `spf.rejectFail` refuses an SPF fail at RCPT, as the SPF check runs at MAIL FROM.
 */
export function authForceRules(config: AuthPolicyConfig): Record<string, Action> {
  const rules: Record<string, Action> = {};
  if (config.dmarc.enforce) {
    rules.DMARC_POLICY_REJECT = 'reject';
    rules.DMARC_POLICY_QUARANTINE = 'quarantine';
  }
  if (config.spf.rejectFail) rules.SPF_FAIL = 'reject';
  return rules;
}

/** The reason of a refusal decided by authentication, naming the protocol (the `550 5.7.1 …` text); undefined otherwise. */
export function rejectTextFor(verdict: Verdict): string | undefined {
  if (verdict.action !== 'reject' || !verdict.forcedBy) return undefined;
  const domain = verdict.symbols.find((s) => s.name === verdict.forcedBy)?.detail;
  const of = domain && /^[A-Za-z0-9.-]+$/.test(domain) ? ` of ${domain}` : '';
  if (verdict.forcedBy === 'DMARC_POLICY_REJECT') return `Message rejected: DMARC authentication failed and the policy${of} is to reject`;
  if (verdict.forcedBy === 'SPF_FAIL') return `Message rejected: SPF authentication failed, this host is not allowed to send for the sender domain${of ? ' ' + domain : ''}`;
  return undefined;
}
