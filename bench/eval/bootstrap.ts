// How sure a row's verdict is. Spam recall at 0.1% FPR is set by the few highest-scored ham (the 3rd of
// 2,500, or the highest of 874), so one message can move it across bogofilter's. A paired, stratified
// bootstrap redraws the scored ham and spam (each class keeps its size) and reads both classifiers'
// figures on the same redraw: the share of redraws in which Sluice meets a target says how much of
// the verdict is the split's luck.
import { auc, recallAt, type Scored } from './metrics.ts';

export interface Confidence {
  /** Share of redraws in which Sluice's recall at 0.1% FPR is at least bogofilter's. */
  recallAtLeast: number;
  /** Share of redraws in which Sluice's (1-AUC)% is at most `ratioTarget` times bogofilter's. */
  ratioWithin: number;
  /** Sluice's recall at 0.1% FPR less bogofilter's: the 5th and 95th percentiles over the redraws. */
  recallDifference: [number, number];
}

/** A small seeded generator (mulberry32), so that a run's figures can be had again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `sluice` and `bogo` score the same messages in the same order. */
export function pairedBootstrap(sluice: Scored[], bogo: Scored[], ratioTarget: number, rounds = 1000, seed = 1): Confidence {
  const ham = sluice.flatMap((s, i) => (s.spam ? [] : [i]));
  const spam = sluice.flatMap((s, i) => (s.spam ? [i] : []));
  const next = random(seed);
  const draw = (from: number[]) => from.map(() => from[Math.floor(next() * from.length)]);
  let recallAtLeast = 0;
  let ratioWithin = 0;
  const differences: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const picked = [...draw(ham), ...draw(spam)];
    const ours = picked.map((i) => sluice[i]);
    const theirs = picked.map((i) => bogo[i]);
    const difference = recallAt(ours, 0.001) - recallAt(theirs, 0.001);
    differences.push(difference);
    if (difference >= 0) recallAtLeast++;
    if (1 - auc(ours) <= ratioTarget * (1 - auc(theirs))) ratioWithin++;
  }
  differences.sort((a, b) => a - b);
  const percentile = (p: number) => differences[Math.min(rounds - 1, Math.floor(p * rounds))];
  return { recallAtLeast: recallAtLeast / rounds, ratioWithin: ratioWithin / rounds, recallDifference: [percentile(0.05), percentile(0.95)] };
}
