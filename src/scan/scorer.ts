// The scorer: a pure function from symbol hits to a verdict. Weights, caps and thresholds come from config.
import type { Action, ScoredSymbol, SymbolHit, Verdict } from './types.ts';
import { builtinSymbols, familyOf } from './symbols.ts';

export interface ScoringPolicy {
  scores: Readonly<Record<string, number>>;
  groupCaps: Readonly<Record<string, number>>;
  force: Readonly<Record<string, Action>>;
  /** Force rules that apply only when the score reaches this (greylisting on score). */
  forceFrom?: Readonly<Record<string, number>>;
  actions: Readonly<{ tag: number; quarantine: number; reject: number }>;
}

/** When two force rules fire, the harsher action wins; a rule below what the score says does not lower it. */
const SEVERITY: Record<Action, number> = { accept: 0, tag: 1, quarantine: 2, tempfail: 3, reject: 4 };

export function weightOf(name: string, policy: ScoringPolicy): number {
  return policy.scores[name] ?? builtinSymbols()[name]?.weight ?? 0;
}

export function score(hits: readonly SymbolHit[], policy: ScoringPolicy): Verdict {
  // One line per symbol: a symbol reported twice keeps its strongest factor.
  const bySymbol = new Map<string, SymbolHit>();
  for (const hit of hits) {
    const seen = bySymbol.get(hit.name);
    if (!seen || Math.abs(hit.factor ?? 1) > Math.abs(seen.factor ?? 1)) bySymbol.set(hit.name, hit);
  }

  const symbols: ScoredSymbol[] = [];
  const familyTotals = new Map<string, number>();
  for (const hit of bySymbol.values()) {
    const s = round2(weightOf(hit.name, policy) * (hit.factor ?? 1));
    symbols.push(hit.detail ? { name: hit.name, score: s, detail: hit.detail } : { name: hit.name, score: s });
    const fam = familyOf(hit.name);
    familyTotals.set(fam, (familyTotals.get(fam) ?? 0) + s);
  }

  let total = 0;
  for (const [fam, sum] of familyTotals) {
    const cap = policy.groupCaps[fam];
    total += cap === undefined ? sum : Math.max(-cap, Math.min(cap, sum));
  }
  total = round2(total);
  symbols.sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));

  let forcedBy: string | undefined;
  let forced: Action | undefined;
  for (const name of bySymbol.keys()) {
    const a = policy.force[name];
    const from = policy.forceFrom?.[name];
    if (from !== undefined && total < from) continue;
    if (a && (forced === undefined || SEVERITY[a] > SEVERITY[forced])) {
      forced = a;
      forcedBy = name;
    }
  }

  // A force rule sets a floor (quarantine at least, reject at least), except `accept`, which is an allowlist:
  // it overrides the score. The harsher of rule and score wins otherwise.
  const byScore = actionFor(total, policy.actions);
  let action = byScore;
  if (forced === 'accept' || (forced && SEVERITY[forced] >= SEVERITY[byScore])) action = forced;
  else forcedBy = undefined;
  const verdict: Verdict = { action, score: total, required: policy.actions.tag, symbols };
  if (forcedBy) verdict.forcedBy = forcedBy;
  return verdict;
}

export function actionFor(total: number, t: ScoringPolicy['actions']): Action {
  if (total >= t.reject) return 'reject';
  if (total >= t.quarantine) return 'quarantine';
  if (total >= t.tag) return 'tag';
  return 'accept';
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
