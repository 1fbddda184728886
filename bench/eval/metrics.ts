// Accuracy figures of a pooled set of held-out scores (bench/corpus/README.md gives the protocol).

export interface Scored {
  spam: boolean;
  score: number;
}

/** ROC AUC with tied scores counting one half. */
export function auc(scored: Scored[]): number {
  const ham = scored.filter((s) => !s.spam).map((s) => s.score).sort((a, b) => a - b);
  let wins = 0;
  let spamCount = 0;
  for (const s of scored) {
    if (!s.spam) continue;
    spamCount++;
    const below = lowerBound(ham, s.score);
    const notAbove = upperBound(ham, s.score);
    wins += below + (notAbove - below) / 2;
  }
  return wins / (ham.length * spamCount);
}

/** Spam recall at the best threshold whose ham false-positive rate stays within `fpr`; ties are never split. */
export function recallAt(scored: Scored[], fpr: number): number {
  const ham = scored.filter((s) => !s.spam).map((s) => s.score).sort((a, b) => b - a);
  const spam = scored.filter((s) => s.spam).map((s) => s.score);
  const allowed = Math.floor(fpr * ham.length);
  if (allowed >= ham.length) return 1;
  // Flag scores strictly above the (allowed+1)-th highest ham: at most `allowed` ham are flagged.
  const threshold = ham[allowed];
  return spam.filter((s) => s > threshold).length / spam.length;
}

/** Percent of ham at or above `cutoff` and of spam below it. */
export function errorsAt(scored: Scored[], cutoff: number): { fp: number; fn: number } {
  const ham = scored.filter((s) => !s.spam);
  const spam = scored.filter((s) => s.spam);
  return {
    fp: (100 * ham.filter((s) => s.score >= cutoff).length) / ham.length,
    fn: (100 * spam.filter((s) => s.score < cutoff).length) / spam.length,
  };
}

function lowerBound(sorted: number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}

function upperBound(sorted: number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] <= x) lo = mid + 1; else hi = mid; }
  return lo;
}
