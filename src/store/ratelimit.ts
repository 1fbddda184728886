// The rate-limit arithmetic both stores apply (the Redis script repeats it in Lua): GCRA, a token bucket
// kept as one number, the time at which the bucket's allowance is used up (the "theoretical arrival time").
import type { RateLimitOutcome, RateLimitRule } from './types.ts';

/** The new used-up time (null: refused, nothing to store) and the outcome of one message arriving at `now`. */
export function gcra(usedUpTo: number | null, now: number, rule: RateLimitRule): { usedUpTo: number | null; outcome: RateLimitOutcome } {
  const next = Math.max(usedUpTo ?? now, now) + rule.intervalMs;
  const allowedFrom = next - rule.burst * rule.intervalMs;
  if (now < allowedFrom) return { usedUpTo: null, outcome: { allowed: false, remaining: 0, retryAfterMs: allowedFrom - now } };
  return { usedUpTo: next, outcome: { allowed: true, remaining: Math.floor((now - allowedFrom) / rule.intervalMs), retryAfterMs: 0 } };
}
