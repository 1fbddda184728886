// The clock: DKIM signatures, TLS certificates and every log line depend on it. Compared with the
// date a downstream puts in its greeting (Exim and Sendmail do; Postfix does not), else only its year.
import type { DownstreamFindings } from './downstream.ts';
import { fail, ok, warn, type CheckResult } from './result.ts';

/** Before this the clock was never set (a board without a battery starts at 1970 or its firmware's date). */
const EARLIEST_PLAUSIBLE = Date.UTC(2025, 0, 1);
const LATEST_PLAUSIBLE = Date.UTC(2100, 0, 1);
/** Further apart than this, one of the two clocks is not synchronised. */
export const MAX_SKEW_MS = 60_000;

const NTP_FIX = 'synchronise the clock with NTP (chrony or systemd-timesyncd) on whichever machine is wrong';

export function clockCheck(now: number, downstream: DownstreamFindings): CheckResult {
  const ours = iso(now);
  if (now < EARLIEST_PLAUSIBLE || now >= LATEST_PLAUSIBLE) {
    return fail('clock', `our clock says ${ours}, which cannot be right`, NTP_FIX);
  }
  const theirs = downstream.greeting && downstream.greetedAt !== undefined ? greetingDate(downstream.greeting.lines.join(' ')) : undefined;
  if (theirs === undefined) {
    const why = downstream.greeting ? "the downstream's greeting carries no date" : 'no greeting from the downstream';
    return ok('clock', `our clock says ${ours} (year plausible; ${why} to compare with)`);
  }
  const skew = Math.round((downstream.greetedAt! - theirs) / 1000);
  const compared = `our clock said ${iso(downstream.greetedAt!)} when the downstream's greeting said ${iso(theirs)}`;
  if (Math.abs(skew * 1000) > MAX_SKEW_MS) return warn('clock', `${compared}: ${Math.abs(skew)} s apart`, NTP_FIX);
  return ok('clock', `${compared} (${Math.abs(skew)} s apart)`);
}

/** An RFC 5322 date-time in greeting text (`Wed, 02 Dec 2026 13:51:14 +0000`), as ms; undefined when there is none. */
export function greetingDate(text: string): number | undefined {
  const m = /\b(\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4})\b/.exec(text);
  if (!m) return undefined;
  const time = Date.parse(m[1]);
  return Number.isNaN(time) ? undefined : time;
}

/** To the second: the greeting has no finer date. */
function iso(time: number): string {
  return new Date(time).toISOString().replace(/\.\d+Z$/, 'Z');
}
