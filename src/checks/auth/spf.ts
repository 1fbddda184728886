// SPF at MAIL FROM (RFC 7208): may the client send for the envelope sender's domain (or, for bounces, the HELO name)?
import { spf } from 'mailauth/lib/spf/index.js';
import type { Check, Envelope, SymbolHit } from '../../scan/types.ts';
import { heloIdentity, resolverFor, type AuthDeps } from './context.ts';
import { methodResult, oneLine } from './results.ts';
import './symbols.ts';

export interface SpfOutcome {
  result: 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';
  /** The domain checked: the envelope sender's, or the HELO name's for the null sender. */
  domain: string;
  /** The RFC 8601 method result. */
  authResult: string;
}

const RESULTS = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror']);

// One evaluation per transaction: DMARC at the data stage reuses the outcome of MAIL FROM.
const outcomes = new WeakMap<Envelope, Promise<SpfOutcome>>();

export function evaluateSpf(deps: AuthDeps, envelope: Envelope, signal?: AbortSignal): Promise<SpfOutcome> {
  let outcome = outcomes.get(envelope);
  if (!outcome) {
    outcome = runSpf(deps, envelope, signal);
    outcomes.set(envelope, outcome);
  }
  return outcome;
}

/** The transaction's SPF outcome, when it was evaluated: a scan worker thread is handed it. */
export function spfOutcomeOf(envelope: Envelope): Promise<SpfOutcome> | undefined {
  return outcomes.get(envelope);
}

/** Takes an outcome evaluated on the main thread, so a scan worker does not evaluate SPF again. */
export function adoptSpfOutcome(envelope: Envelope, outcome: SpfOutcome): void {
  outcomes.set(envelope, Promise.resolve(outcome));
}

async function runSpf(deps: AuthDeps, envelope: Envelope, signal?: AbortSignal): Promise<SpfOutcome> {
  const helo = heloIdentity(envelope);
  const res = await spf({
    sender: envelope.mailFrom || undefined,
    ip: envelope.clientIp,
    helo,
    mta: deps.hostname,
    resolver: resolverFor(deps, envelope, signal),
    maxElapsedTime: deps.evaluationTimeoutMs,
    // RFC 7208 exactly: a record with a syntax error anywhere is a permerror, not read past. mailauth's
    // lenient default evaluates such records as far as it can, which other receivers do not.
    strict: true,
  } as Parameters<typeof spf>[0]);
  const raw = String(res.status?.result ?? 'temperror');
  const result = (RESULTS.has(raw) ? raw : 'temperror') as SpfOutcome['result'];
  const authResult = res.info
    ? oneLine(res.info)
    : methodResult('spf', result, res.status?.comment, envelope.mailFrom ? { 'smtp.mailfrom': envelope.mailFrom } : { 'smtp.helo': helo });
  return { result, domain: String(res.domain ?? ''), authResult };
}

export function spfCheck(deps: AuthDeps): Check {
  return {
    name: 'spf',
    family: 'SPF',
    stage: 'mail',
    async run(ctx): Promise<SymbolHit[]> {
      const outcome = await evaluateSpf(deps, ctx.envelope, ctx.signal);
      ctx.authResults.push(outcome.authResult);
      if (outcome.result === 'permerror' || outcome.result === 'temperror') {
        ctx.log.info({ domain: outcome.domain, result: outcome.authResult }, `SPF ${outcome.result}`);
      }
      return [{ name: `SPF_${outcome.result.toUpperCase()}`, detail: outcome.domain || undefined }];
    },
  };
}
