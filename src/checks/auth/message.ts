// DKIM, ARC and DMARC of one message, evaluated once and shared by the three data-stage checks:
// ARC reuses what the DKIM pass parsed, and DMARC needs both DKIM and SPF results.
// mailauth's parts one by one (each ships its own types): its index also loads BIMI and MTA-STS
// (certificate parsing, an HTTP client), never used here, which cost about 4 MB of resident memory.
import { arc } from 'mailauth/lib/arc/index.js';
import { dmarc } from 'mailauth/lib/dmarc/index.js';
import type { ARCData, ARCResult, DKIMResult, DMARCResult } from 'mailauth';
import type { Envelope, MessageContent } from '../../scan/types.ts';
import { resolverFor, type AuthDeps } from './context.ts';
import { dkimVerify } from './dkim-verify.ts';
import { evaluateSpf } from './spf.ts';
import { methodResult, oneLine } from './results.ts';

export type DkimResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';
export type DmarcResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';
export type ArcResult = 'pass' | 'fail' | 'none';
export type Policy = 'none' | 'quarantine' | 'reject';

export interface DkimSignature {
  result: DkimResult;
  domain: string;
  selector: string;
  authResult: string;
}

export interface MessageAuth {
  dkim: DkimSignature[];
  arc: { result: ArcResult; sealer?: string; authResult: string };
  dmarc: {
    result: DmarcResult;
    /** The From domain. */
    domain?: string;
    /** The policy to apply after sp/np, t=y and pct sampling; only set when DMARC failed. */
    policy?: Policy;
    /** A trusted ARC sealer vouched, so the policy is not applied. */
    arcOverride?: string;
    authResult: string;
  };
}

const evaluations = new WeakMap<MessageContent, Promise<MessageAuth>>();

export function evaluateMessage(deps: AuthDeps, envelope: Envelope, message: MessageContent, signal?: AbortSignal): Promise<MessageAuth> {
  let evaluation = evaluations.get(message);
  if (!evaluation) {
    evaluation = withDeadline(runEvaluation(deps, envelope, message, signal), deps.evaluationTimeoutMs);
    evaluations.set(message, evaluation);
  }
  return evaluation;
}

async function runEvaluation(deps: AuthDeps, envelope: Envelope, message: MessageContent, signal?: AbortSignal): Promise<MessageAuth> {
  const resolver = resolverFor(deps, envelope, signal);
  const spfOutcome = evaluateSpf(deps, envelope, signal);
  // Verification runs in mailauth's lenient mode: tag-syntax slips that real signers make are accepted
  // (the signature must still verify cryptographically), so sloppy but genuine mail is not failed under DMARC.
  const verified = await dkimVerify(message.raw, { resolver, sender: envelope.mailFrom || undefined, curTime: deps.now?.() });

  const dkim = (verified.results ?? []).filter((r) => r.status?.result !== 'none').map(toSignature);
  // The lenient verifier leaves out signature fields it cannot parse at all; they still count, as permerror.
  const fields = verified.headers?.parsed.filter((h) => h.key === 'dkim-signature').length ?? 0;
  if (fields > dkim.length) {
    dkim.push({ result: 'permerror', domain: '', selector: '', authResult: methodResult('dkim', 'neutral', 'signature could not be parsed', {}) });
  }
  const arcData = verified.arc as unknown as (ARCData & { lastEntry?: SealEntry }) | undefined;
  const arcResult: ARCResult | undefined = arcData ? await arc(arcData, { resolver }) : undefined;
  const arcPart = toArc(arcResult, arcData?.lastEntry);

  const spfResult = await spfOutcome;
  const dmarcResult = await dmarc({
    headerFrom: verified.headerFrom,
    fromFields: verified.fromFields,
    spfDomains: spfResult.result === 'pass' && spfResult.domain ? [spfResult.domain] : [],
    dkimDomains: (verified.results ?? [])
      .filter((r) => r.status?.result === 'pass' && r.signingDomain)
      .map((r) => ({ id: r.id, domain: r.signingDomain!, aligned: r.status?.aligned as string | false | undefined, underSized: (r.status as { underSized?: number } | undefined)?.underSized })),
    arcResult,
    resolver,
  });
  return { dkim, arc: arcPart, dmarc: toDmarc(dmarcResult, arcPart, deps) };
}

function toSignature(r: DKIMResult): DkimSignature {
  let raw = String(r.status?.result ?? 'permerror');
  // A body hash mismatch is a failed verification (RFC 6376 6.1.3), which the lenient verifier calls neutral.
  if (raw === 'neutral' && r.status?.comment === 'body hash did not verify') raw = 'fail';
  // neutral: the signature could not be processed (RFC 8601 2.7.1); policy: refused by local policy, e.g. a weak key.
  const result: DkimResult =
    raw === 'pass' || raw === 'fail' || raw === 'temperror' || raw === 'permerror' ? raw : raw === 'policy' ? 'fail' : 'permerror';
  const domain = r.signingDomain ?? '';
  const selector = r.selector ?? '';
  // The header keeps RFC 8601's finer words (neutral, policy); the symbol uses the coarser outcome.
  const reported = raw === 'policy' || raw === 'neutral' ? raw : result;
  const authResult = methodResult('dkim', reported, r.status?.comment, {
    'header.d': domain,
    'header.s': selector,
    'header.a': r.algo,
    'header.b': r.signature?.slice(0, 8),
  });
  return { result, domain, selector, authResult };
}

/** The newest ARC set's seal, whose d= names the forwarder that sealed the chain. */
interface SealEntry {
  'arc-seal'?: { parsed?: Record<string, { value?: unknown } | undefined> };
}

function toArc(result: ARCResult | undefined, lastEntry: SealEntry | undefined): MessageAuth['arc'] {
  const raw = String(result?.status?.result ?? 'none');
  const value: ArcResult = raw === 'pass' || raw === 'fail' ? raw : 'none';
  const sealerValue = lastEntry?.['arc-seal']?.parsed?.d?.value;
  const sealer = typeof sealerValue === 'string' ? sealerValue.toLowerCase().replace(/\.$/, '') : undefined;
  const authResult = result?.info ? oneLine(result.info) : methodResult('arc', value, result?.status?.comment, {});
  return value === 'none' ? { result: value, authResult } : { result: value, sealer, authResult };
}

const LOWER: Record<Policy, Policy> = { reject: 'quarantine', quarantine: 'none', none: 'none' };

function toDmarc(res: DMARCResult | false, arcPart: MessageAuth['arc'], deps: AuthDeps): MessageAuth['dmarc'] {
  // false: no single author domain (no From, several From fields or domains) — DMARC cannot be applied.
  if (!res) return { result: 'permerror', authResult: methodResult('dmarc', 'permerror', 'no single author domain', {}) };
  const raw = String(res.status?.result ?? 'temperror');
  const result: DmarcResult = raw === 'pass' || raw === 'fail' || raw === 'none' || raw === 'permerror' ? raw : 'temperror';
  const domain = (res.status?.header as { from?: string } | undefined)?.from;
  const out: MessageAuth['dmarc'] = { result, domain, authResult: res.info ? oneLine(res.info) : methodResult('dmarc', result, undefined, { 'header.from': domain }) };
  if (result !== 'fail') return out;

  let policy = (['none', 'quarantine', 'reject'].includes(res.policy) ? res.policy : 'none') as Policy;
  // RFC 7489 pct: the policy applies to that share of failing mail; the rest gets the next lower policy.
  // (t=y, its successor in RFC 9989, is already applied by mailauth.)
  const pct = (res as DMARCResult & { record?: { pct?: unknown } }).record?.pct;
  if (!res.testMode && typeof pct === 'number' && pct >= 0 && pct < 100 && (deps.random ?? Math.random)() * 100 >= pct) {
    policy = LOWER[policy];
  }
  out.policy = policy;
  if (policy !== 'none' && arcPart.result === 'pass' && arcPart.sealer && deps.trustedArcSealers.includes(arcPart.sealer)) {
    out.arcOverride = arcPart.sealer;
  }
  return out;
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`authentication took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
