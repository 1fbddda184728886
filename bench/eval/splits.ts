// The corpus and the splits of `npm run eval` (bench/eval.ts), shared with `npm run tune`
// (bench/bayes-tune.ts): which messages each split learns and which it scores.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMessages } from '../../src/mail/sources.ts';
import { CORPUS_DIR } from '../corpus.ts';
import type { EvalMessage } from './bogofilter.ts';
import { bodyOnly, stripMarkers } from './messages.ts';
import type { Scored } from './metrics.ts';

const foldsFile = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'bench/corpus/folds.tsv');

export type View = 'full' | 'body';

export interface Sample {
  group: string;
  spam: boolean;
  fold: number;
  full: EvalMessage;
  body: EvalMessage;
}

export interface Part {
  learn: Sample[];
  score: Sample[];
}

export interface Split {
  name: string;
  view: View;
  parts: Part[];
  /** bayes.minLearns for this split (the learning curve starts below the default). */
  minLearns?: number;
}

/** The split and view columns that begin every row of the eval's and the tune's tables. */
export function rowLabel(name: string, view: View | 'view'): string {
  return `${name.padEnd(32)}${(view === 'full' ? 'hdr+body' : view).padEnd(9)}`;
}

/** One split on each view, headers + body and body only, learning and scoring the same messages. */
function onBothViews(name: string, parts: Part[], minLearns?: number): Split[] {
  return (['full', 'body'] as const).map((view) => ({ name, view, parts, ...(minLearns ? { minLearns } : {}) }));
}

export function parseFolds(spec: string): number[] {
  const [from, to] = spec.split('-').map(Number);
  return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
}

export async function loadCorpus(): Promise<Sample[]> {
  const rows = readFileSync(foldsFile, 'utf8').trim().split('\n').slice(1).map((line) => line.split('\t'));
  const samples: Sample[] = [];
  for (const [group, file, label, fold] of rows) {
    // readMessages: the same reader as `sluice learn`, which drops the mbox `From ` line.
    for await (const message of readMessages([join(CORPUS_DIR, group, file)])) {
      const id = `${group}/${file}`;
      const spam = label === 'spam';
      const raw = stripMarkers(message.raw);
      samples.push({ group, spam, fold: Number(fold), full: { id, raw, spam }, body: { id, raw: bodyOnly(raw), spam } });
    }
  }
  return samples;
}

/** A split's scores (in the order of its parts' scoring sets) with each message's class, of the messages `keep` keeps. */
export function scoredOf(split: Split, scores: number[], keep: (s: Sample) => boolean = () => true): Scored[] {
  const out: Scored[] = [];
  let i = 0;
  for (const part of split.parts) {
    for (const s of part.score) {
      if (keep(s)) out.push({ spam: s.spam, score: scores[i] });
      i++;
    }
  }
  return out;
}

/** Folds 0–1 of a fold split, also reported apart when more folds were scored: the scored messages it keeps. */
export const FIRST_TWO_FOLDS = { name: '10-fold, folds 0–1', keep: (s: Sample) => s.fold <= 1 };

export function foldSplits(samples: Sample[], folds: number[]): Split[] {
  const parts = folds.map((testFold) => ({ learn: samples.filter((s) => s.fold !== testFold), score: samples.filter((s) => s.fold === testFold) }));
  const range = `${folds[0]}–${folds[folds.length - 1]}`;
  return onBothViews(`10-fold, folds ${range}`, parts);
}

const HAM_2002 = 'easy-ham-1';
const SPAM_2002 = 'spam-1';
const HAM_2003 = 'easy-ham-2';
const SPAM_2003 = 'spam-2';

/** Learn the first groups, score the second. */
function groupSplit(samples: Sample[], name: string, learn: string[], score: string[]): { name: string; part: Part } {
  const of = (groups: string[]) => samples.filter((s) => groups.includes(s.group));
  return { name, part: { learn: of(learn), score: of(score) } };
}

function chronological(samples: Sample[]): { name: string; part: Part }[] {
  return [
    groupSplit(samples, '2002 → 2003', [HAM_2002, SPAM_2002], [HAM_2003, SPAM_2003]),
    groupSplit(samples, '2003 → 2002', [HAM_2003, SPAM_2003], [HAM_2002, SPAM_2002]),
  ];
}

// Ham of one year learned with spam of the other, the rest scored: a model that learned which year mail
// comes from (its software, its dates, its lists), rather than what it says, gets these backwards.
function yearsCrossed(samples: Sample[]): { name: string; part: Part }[] {
  return [
    groupSplit(samples, 'ham 2003 + spam 2002 → the rest', [HAM_2003, SPAM_2002], [HAM_2002, SPAM_2003]),
    groupSplit(samples, 'ham 2002 + spam 2003 → the rest', [HAM_2002, SPAM_2003], [HAM_2003, SPAM_2002]),
  ];
}

export function generalizationSplits(samples: Sample[]): Split[] {
  // Hard ham never learned: all easy ham and the spam of folds 2–9 learned; hard ham and the spam of folds 0–1 scored.
  const hardHam: Part = {
    learn: samples.filter((s) => s.group.startsWith('easy-ham') || (s.spam && s.fold >= 2)),
    score: samples.filter((s) => s.group === 'hard-ham-1' || (s.spam && s.fold <= 1)),
  };
  const splits = [...chronological(samples), { name: 'hard ham unlearned', part: hardHam }, ...yearsCrossed(samples)];
  return splits.flatMap(({ name, part }) => onBothViews(name, [part]));
}

const CURVE_SIZES = [50, 200, 1000];

/** Every k-th message, so a small learning set still spans the whole period. */
function spread<T>(items: T[], n: number): T[] {
  if (n >= items.length) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]);
}

export function curveSplits(samples: Sample[]): Split[] {
  return chronological(samples).flatMap(({ name, part }) =>
    [...CURVE_SIZES, Infinity].map((size) => {
      const learn = [...spread(part.learn.filter((s) => !s.spam), size), ...spread(part.learn.filter((s) => s.spam), size)];
      const label = size === Infinity ? 'all' : String(size);
      return { name: `${name}, ${label} per class`, view: 'full' as const, parts: [{ learn, score: part.score }], minLearns: 1 };
    }),
  );
}

/**
 * One class learned from far fewer messages than the other, as at a site whose users file their spam but
 * seldom their ham, or the reverse: folds 2–9 learned with a quarter or a tenth of one class (spread over
 * the whole set), folds 0–1 scored. Each class counts by its own rate, so a model that leans to the class
 * it learned more of shows it here.
 */
export function balanceSplits(samples: Sample[]): Split[] {
  const score = samples.filter((s) => s.fold <= 1);
  const ham = samples.filter((s) => s.fold >= 2 && !s.spam);
  const spam = samples.filter((s) => s.fold >= 2 && s.spam);
  const rows: { name: string; learn: Sample[] }[] = [];
  for (const k of [4, 10]) {
    rows.push({ name: `ham 1 in ${k} learned`, learn: [...spread(ham, Math.round(ham.length / k)), ...spam] });
    rows.push({ name: `spam 1 in ${k} learned`, learn: [...ham, ...spread(spam, Math.round(spam.length / k))] });
  }
  // minLearns 1: a tenth of the spam is fewer messages than the default waits for.
  return rows.flatMap(({ name, learn }) => onBothViews(name, [{ learn, score }], 1));
}
