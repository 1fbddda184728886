import { describe, expect, it } from 'vitest';
import { certaintyFactor, classify, DEFAULT_CLASSIFIER_OPTIONS, logChiSquareSurvival, placesOf } from '../../src/bayes/classifier.ts';
import { bayesHits } from '../../src/bayes/index.ts';
import { TOKEN_HEADER, TOKEN_PAIR } from '../../src/bayes/tokenizer.ts';

// The tokens of these tests share their counts by construction; that they then share a weight
// (sameCountsMinLearned) is tested on its own.
const options = { ...DEFAULT_CLASSIFIER_OPTIONS, minLearns: 10, minWords: 5, sameCountsMinLearned: Infinity };
const learned = { spam: 100, ham: 100 };
const many = (n: number, value: number) => Array.from({ length: n }, () => value);

describe('guards', () => {
  it('says nothing before minLearns of each class', () => {
    expect(classify(many(20, 50), many(20, 0), { spam: 100, ham: 9 }, 50, options)).toEqual({ kind: 'skipped', reason: 'not-enough-learned' });
  });

  it('says nothing about a message with too few words', () => {
    expect(classify(many(20, 50), many(20, 0), learned, 4, options)).toEqual({ kind: 'skipped', reason: 'too-few-words' });
  });

  it('says nothing when no token is known or informative', () => {
    expect(classify(many(20, 0), many(20, 0), learned, 50, options)).toMatchObject({ kind: 'skipped', reason: 'no-evidence' });
    expect(classify(many(20, 30), many(20, 30), learned, 50, options)).toMatchObject({ kind: 'skipped', reason: 'no-evidence' });
  });
});

describe('classification', () => {
  it('calls spammy tokens spam and hammy tokens ham, more surely with more evidence', () => {
    const spam5 = classify(many(5, 40), many(5, 0), learned, 50, options);
    const spam50 = classify(many(50, 40), many(50, 0), learned, 50, options);
    const ham50 = classify(many(50, 0), many(50, 40), learned, 50, options);
    if (spam5.kind !== 'scored' || spam50.kind !== 'scored' || ham50.kind !== 'scored') throw new Error('expected scores');
    expect(spam5.probability).toBeGreaterThan(0.9);
    expect(spam50.certainty).toBeGreaterThan(spam5.certainty);
    expect(ham50.probability).toBeLessThan(0.1);
    expect(ham50.certainty).toBeLessThan(0);
  });

  it('keeps extreme evidence ordered instead of rounding to 1', () => {
    // Both within maxTokens, so that b has more evidence taking part than a.
    expect(90).toBeLessThanOrEqual(options.maxTokens);
    const a = classify(many(60, 50), many(60, 0), learned, 500, options);
    const b = classify(many(90, 50), many(90, 0), learned, 500, options);
    if (a.kind !== 'scored' || b.kind !== 'scored') throw new Error('expected scores');
    expect(a.probability).toBeGreaterThan(0.9999999);
    expect(b.probability).toBeGreaterThan(0.9999999);
    expect(b.certainty).toBeGreaterThan(a.certainty);
    expect(Number.isFinite(b.certainty)).toBe(true);
  });

  it('uses rates, so a class learned more often is not favoured', () => {
    const r = classify([10], [100], { spam: 100, ham: 1000 }, 50, { ...options, minDeviation: 0 });
    if (r.kind !== 'scored') throw new Error('expected a score');
    expect(r.probability).toBeCloseTo(0.5, 1);
  });
});

describe('average evidence', () => {
  // Two spammy and two hammy tokens that Fisher's test selects, equally strong: even odds by Fisher alone
  // (with the symmetric prior x = 0.5; the default leans a little to spam).
  const selectedSpam = [40, 40, 0, 0];
  const selectedHam = [0, 0, 40, 40];
  const symmetric = { ...options, unknownProbability: 0.5 };
  const withBulk = (spam: number, ham: number) => classify([...selectedSpam, ...many(40, spam)], [...selectedHam, ...many(40, ham)], learned, 50, symmetric);

  it('orders a message whose selected tokens pull both ways by what the rest of its tokens say', () => {
    // The bulk tokens (30 against 20 of 100, or the reverse) are too weak for Fisher's test to select.
    const spammyBulk = withBulk(30, 20);
    const hammyBulk = withBulk(20, 30);
    if (spammyBulk.kind !== 'scored' || hammyBulk.kind !== 'scored') throw new Error('expected scores');
    expect(spammyBulk.used).toBe(4);
    expect(spammyBulk.certainty).toBeGreaterThan(0);
    expect(hammyBulk.certainty).toBeLessThan(0);
    // ln((30 + a)/(20 + a)) on average over the 44 learned tokens (the selected ones cancel), each token
    // weighed by how often it was learned, the average weighted and shrunk by evidenceShrink, in log10.
    const a = options.evidenceSmoothing;
    const w = (n: number) => 1 / Math.log(Math.E + n / options.evidenceCountScale);
    const mean = (40 * w(50) * Math.log((30 + a) / (20 + a))) / (4 * w(40) + 40 * w(50) + options.evidenceShrink);
    expect(spammyBulk.certainty).toBeCloseTo((options.evidenceWeight * mean) / Math.LN10, 6);
  });

  it('weighs a token learned in few messages more than one learned in many', () => {
    // Ten rare tokens lean to spam (3 against 2) as far as ten common ones lean to ham (20 against 30).
    const rareAndCommon = (scale: number) =>
      classify([...selectedSpam, ...many(10, 3), ...many(10, 20)], [...selectedHam, ...many(10, 2), ...many(10, 30)], learned, 50, { ...symmetric, evidenceCountScale: scale });
    const weighed = rareAndCommon(options.evidenceCountScale);
    const flat = rareAndCommon(Infinity); // every token at 1 / ln(e) = 1
    if (weighed.kind !== 'scored' || flat.kind !== 'scored') throw new Error('expected scores');
    expect(flat.certainty).toBeLessThan(0.001);
    expect(weighed.certainty).toBeGreaterThan(0.05);
    // Header tokens count 1 each, however often they were learned.
    const headers = classify([...selectedSpam, ...many(10, 3), ...many(10, 20)], [...selectedHam, ...many(10, 2), ...many(10, 30)], learned, 50, symmetric, many(24, TOKEN_HEADER));
    if (headers.kind !== 'scored') throw new Error('expected a score');
    expect(headers.certainty).toBeCloseTo(flat.certainty, 9);
  });

  it('counts a word pair at pairEvidenceWeight of a word in the average, and in full in Fisher\'s test', () => {
    // Ten words lean to spam (30 against 20) and ten pairs as far to ham (20 against 30).
    const wordsAndPairs = (pairWeight: number, kinds?: number[]) =>
      classify([...selectedSpam, ...many(10, 30), ...many(10, 20)], [...selectedHam, ...many(10, 20), ...many(10, 30)], learned, 50, { ...symmetric, pairEvidenceWeight: pairWeight }, kinds);
    const kinds = [...many(14, 0), ...many(10, TOKEN_PAIR)];
    const asWords = wordsAndPairs(1, kinds);
    const weighed = wordsAndPairs(0.5, kinds);
    if (asWords.kind !== 'scored' || weighed.kind !== 'scored') throw new Error('expected scores');
    expect(asWords.certainty).toBeCloseTo(0, 9);
    // Equal counts, so equal token weights: the mean of 10 × e and 10 × 0.5 × (−e) over 4 + 10 + 5 tokens.
    const a = options.evidenceSmoothing;
    const w = (n: number) => 1 / Math.log(Math.E + n / options.evidenceCountScale);
    const mean = (5 * w(50) * Math.log((30 + a) / (20 + a))) / (4 * w(40) + 15 * w(50) + options.evidenceShrink);
    expect(weighed.certainty).toBeCloseTo((options.evidenceWeight * mean) / Math.LN10, 6);
    expect(weighed.used).toBe(asWords.used);
    // Without kinds every token is a word.
    expect(wordsAndPairs(0.5)).toEqual(asWords);
  });

  it('lets tokens learned alike share one weight in the average, once learned sameCountsMinLearned times', () => {
    // Thirty tokens of one block (spam 20, ham 30 or 31: a footer learned with most of its list's mail)
    // against ten tokens with counts of their own (spam 31 to 67, ham 20); all too weak for Fisher's test.
    const blockSpam = many(30, 20);
    const blockHam = [...many(15, 30), ...many(15, 31)];
    const own = Array.from({ length: 10 }, (_, k) => 31 + 4 * k);
    const message = (opts: typeof options, kinds?: number[]) =>
      classify([...selectedSpam, ...own, ...blockSpam], [...selectedHam, ...many(10, 20), ...blockHam], learned, 50, opts, kinds);
    const grouped = { ...symmetric, sameCountsMinLearned: 25, sameCountsResolution: 20 };
    const r = message(grouped);
    if (r.kind !== 'scored') throw new Error('expected a score');
    const a = options.evidenceSmoothing;
    const w = (n: number) => 1 / Math.log(Math.E + n / options.evidenceCountScale);
    const e = (spam: number, ham: number) => Math.log((spam + a) / (ham + a));
    // ln(1 + 30) and ln(1 + 31) in twentieths both round to 69: the block is one set of 30, each token
    // with its own evidence at a thirtieth of its weight. ln(1 + 31 + 4k) are steps apart: the ten weigh
    // alone. The four selected tokens are two sets of two (40/0 and 0/40) whose evidence cancels.
    let sum = (15 * w(50) * e(20, 30) + 15 * w(51) * e(20, 31)) / 30;
    let weight = 2 * w(40) + (15 * w(50) + 15 * w(51)) / 30;
    for (const spam of own) {
      sum += w(spam + 20) * e(spam, 20);
      weight += w(spam + 20);
    }
    expect(r.certainty).toBeCloseTo((options.evidenceWeight * sum) / (weight + options.evidenceShrink) / Math.LN10, 6);
    expect(r.certainty).toBeGreaterThan(0);
    // Each token alone, the block outvotes the ten.
    const alone = message(symmetric);
    if (alone.kind !== 'scored') throw new Error('expected a score');
    expect(alone.certainty).toBeLessThan(0);
    // Counts learned fewer times than the minimum are taken as chance: those tokens weigh alone.
    expect(message({ ...grouped, sameCountsMinLearned: 52 })).toEqual(alone);
    // Only counts alike: at a finer resolution ham 30 and 31 are two sets of 15.
    const finer = message({ ...grouped, sameCountsResolution: 200 });
    if (finer.kind !== 'scored') throw new Error('expected a score');
    expect(finer.certainty).toBeLessThan(r.certainty);
    // Header and body tokens with the same counts are two sets.
    const split = message(grouped, [...many(14, 0), ...many(15, TOKEN_HEADER), ...many(15, 0)]);
    if (split.kind !== 'scored') throw new Error('expected a score');
    expect(split.certainty).toBeLessThan(r.certainty);
  });

  it('shrinks the average as if evidenceShrink more weight of tokens had said nothing, so a few tokens say less than many', () => {
    // The same lean (30 against 20) in 10 tokens and in 100: alike as a plain mean, apart once shrunk.
    const leaning = (n: number, shrink: number) => classify([...selectedSpam, ...many(n, 30)], [...selectedHam, ...many(n, 20)], learned, 50, { ...symmetric, evidenceShrink: shrink });
    const [few, lots] = [leaning(10, options.evidenceShrink), leaning(100, options.evidenceShrink)];
    const [fewPlain, lotsPlain] = [leaning(10, 0), leaning(100, 0)];
    if (few.kind !== 'scored' || lots.kind !== 'scored' || fewPlain.kind !== 'scored' || lotsPlain.kind !== 'scored') throw new Error('expected scores');
    expect(lots.certainty).toBeGreaterThan(few.certainty);
    expect(lotsPlain.certainty - fewPlain.certainty).toBeLessThan(lots.certainty - few.certainty);
    const a = options.evidenceSmoothing;
    const w = (n: number) => 1 / Math.log(Math.E + n / options.evidenceCountScale);
    const shrunk = (10 * w(50) * Math.log((30 + a) / (20 + a))) / (4 * w(40) + 10 * w(50) + options.evidenceShrink);
    expect(few.certainty).toBeCloseTo((options.evidenceWeight * shrunk) / Math.LN10, 6);
  });

  it('leaves tokens never learned out of the average', () => {
    // Their share of the message weighs Fisher's tests (fisherFullCoverage, tested below), not the average.
    const inFull = { ...symmetric, fisherFullCoverage: 0 };
    const unseen = classify([...selectedSpam, ...many(40, 30), ...many(100, 0)], [...selectedHam, ...many(40, 20), ...many(100, 0)], learned, 50, inFull);
    expect(unseen).toEqual(classify([...selectedSpam, ...many(40, 30)], [...selectedHam, ...many(40, 20)], learned, 50, inFull));
  });
});

describe('tokens never learned', () => {
  it("weigh Fisher's tests by the share of the message's tokens that were learned, in full from fisherFullCoverage up", () => {
    // Ten spammy tokens; Fisher's tests alone (no average evidence).
    const fisherOnly = { ...options, evidenceWeight: 0, fisherFullCoverage: 0.5, fisherCoverageFloor: 0 };
    const withUnseen = (unseen: number) => classify([...many(10, 40), ...many(unseen, 0)], [...many(10, 0), ...many(unseen, 0)], learned, 50, fisherOnly);
    const all = withUnseen(0);
    const half = withUnseen(10);
    const fifth = withUnseen(40);
    if (all.kind !== 'scored' || half.kind !== 'scored' || fifth.kind !== 'scored') throw new Error('expected scores');
    expect(all.certainty).toBeGreaterThan(1);
    expect(half).toEqual(all); // half learned: in full
    expect(fifth.certainty).toBeCloseTo((all.certainty * 0.2) / 0.5, 9);
    expect(fifth.probability).toBe(all.probability); // Robinson's I itself is not scaled
    // Never below the floor: made-up words that pad a spam weaken it this much at most.
    const padded = classify([...many(10, 40), ...many(990, 0)], [...many(10, 0), ...many(990, 0)], learned, 50, { ...fisherOnly, fisherCoverageFloor: 0.5 });
    if (padded.kind !== 'scored') throw new Error('expected a score');
    expect(padded.certainty).toBeCloseTo(all.certainty * 0.5, 9);
    // A fifth is enough when the full share is a fifth.
    expect(classify([...many(10, 40), ...many(40, 0)], [...many(10, 0), ...many(40, 0)], learned, 50, { ...fisherOnly, fisherFullCoverage: 0.2 })).toEqual(all);
  });
});

describe('header and body evidence', () => {
  const kinds = (body: number, header: number) => [...many(body, 0), ...many(header, 1)];

  it('tests the two views apart and adds their log-odds', () => {
    // The average evidence is of the whole message, not a sum over views: left out here.
    const fisherOnly = { ...options, evidenceWeight: 0 };
    const body = classify([...many(30, 40)], [...many(30, 0)], learned, 50, fisherOnly);
    const header = classify([...many(20, 0)], [...many(20, 40)], learned, 50, fisherOnly);
    const both = classify([...many(30, 40), ...many(20, 0)], [...many(30, 0), ...many(20, 40)], learned, 50, fisherOnly, kinds(30, 20));
    if (body.kind !== 'scored' || header.kind !== 'scored' || both.kind !== 'scored') throw new Error('expected scores');
    expect(both.certainty).toBeCloseTo(body.certainty + header.certainty, 9);
    expect(both.used).toBe(50);
    // Agreeing views are surer than either alone.
    const agree = classify([...many(30, 40), ...many(20, 40)], [...many(30, 0), ...many(20, 0)], learned, 50, fisherOnly, kinds(30, 20));
    if (agree.kind !== 'scored') throw new Error('expected a score');
    expect(agree.certainty).toBeGreaterThan(body.certainty);
  });

  it('keeps the most telling tokens of each view, so many body tokens do not crowd out the headers', () => {
    const few = { ...options, maxTokens: 10 };
    const r = classify([...many(50, 40), ...many(5, 0)], [...many(50, 0), ...many(5, 40)], learned, 50, few, kinds(50, 5));
    if (r.kind !== 'scored') throw new Error('expected a score');
    expect(r.used).toBe(15);
  });

  it('keeps places for the tokens that say spam and for those that say ham, so that neither side takes every place', () => {
    // 150 tokens learned only as ham (40 times each) and 30 learned only as spam (twice each): all 150
    // are further from 0.5 than the 30, so the 100 furthest would be ham tokens alone.
    const spamCounts = [...many(150, 0), ...many(30, 2)];
    const hamCounts = [...many(150, 40), ...many(30, 0)];
    const fisherOnly = { ...options, evidenceWeight: 0 };
    const r = classify(spamCounts, hamCounts, learned, 50, fisherOnly);
    const hamAlone = classify(many(150, 0), many(150, 40), learned, 50, fisherOnly);
    if (r.kind !== 'scored' || hamAlone.kind !== 'scored') throw new Error('expected scores');
    expect(options.maxTokens).toBe(100);
    expect(r.used).toBe(100);
    expect(hamAlone.used).toBe(100);
    expect(r.certainty).toBeGreaterThan(hamAlone.certainty);
    expect(classify(spamCounts, hamCounts, learned, 50, { ...fisherOnly, reservedTokens: 0 })).toEqual(hamAlone);
  });

  it('gives the places to the furthest tokens, keeping the reserved ones for each side, at most half', () => {
    const far = (...d: number[]) => Float64Array.from(d);
    // Fewer tokens than places: all of them.
    expect(placesOf(far(0.4, 0.3), far(0.45), 5, 1)).toEqual({ spam: 2, ham: 1 });
    // The furthest, whichever side they are on.
    expect(placesOf(far(0.49, 0.48, 0.2), far(0.47, 0.46, 0.1), 4, 1)).toEqual({ spam: 2, ham: 2 });
    expect(placesOf(far(0.49, 0.48, 0.47), far(0.3, 0.2), 3, 0)).toEqual({ spam: 3, ham: 0 });
    // A side short of its reserve gets it from the other.
    expect(placesOf(far(0.49, 0.48, 0.47), far(0.3, 0.2), 3, 1)).toEqual({ spam: 2, ham: 1 });
    expect(placesOf(far(0.3), far(0.49, 0.48, 0.47, 0.46), 4, 2)).toEqual({ spam: 1, ham: 3 });
    // Never more than half the places, whatever is asked.
    expect(placesOf(far(0.49, 0.48, 0.47, 0.46), far(0.3, 0.2, 0.1), 4, 9)).toEqual({ spam: 2, ham: 2 });
  });

  it('pools all tokens in one test when told to, or without kinds', () => {
    const counts: [number[], number[]] = [[...many(30, 40), ...many(20, 0)], [...many(30, 0), ...many(20, 40)]];
    const pooled = classify(...counts, learned, 50, { ...options, separateHeaders: false }, kinds(30, 20));
    expect(classify(...counts, learned, 50, options)).toEqual(pooled);
  });
});

describe('chi-square tail', () => {
  it('matches known values and does not underflow', () => {
    expect(Math.exp(logChiSquareSurvival(2, 2))).toBeCloseTo(Math.exp(-1), 10);
    expect(Math.exp(logChiSquareSurvival(4, 4))).toBeCloseTo(3 * Math.exp(-2), 10);
    expect(logChiSquareSurvival(20000, 200)).toBeLessThan(-9000);
    expect(Number.isFinite(logChiSquareSurvival(20000, 200))).toBe(true);
  });
});

describe('symbols', () => {
  it('reports BAYES_SPAM / BAYES_HAM with a factor that grows with certainty, and is capped', () => {
    const settings = { tokenizer: {} as never, classifier: DEFAULT_CLASSIFIER_OPTIONS };
    const hit = (certainty: number) => bayesHits({ kind: 'scored', probability: 0.5, certainty, used: 10 }, settings)[0];
    const full = DEFAULT_CLASSIFIER_OPTIONS.spamFullCertainty;
    expect(hit(Math.sqrt(1 + full) - 1).factor).toBeCloseTo(0.5, 12);
    expect(hit(1).factor!).toBeLessThan(hit(2).factor!);
    expect(hit(full)).toMatchObject({ name: 'BAYES_SPAM', factor: 1 });
    expect(hit(50).factor!).toBeGreaterThan(1);
    expect(hit(500).factor!).toBeGreaterThan(hit(50).factor!);
    expect(hit(1e9).factor).toBe(DEFAULT_CLASSIFIER_OPTIONS.spamMaxFactor);
    expect(hit(-10).name).toBe('BAYES_HAM');
    expect(hit(-10).factor!).toBeLessThan(hit(-100).factor!);
    expect(hit(-1e6).factor).toBe(1);
    expect(bayesHits({ kind: 'skipped', reason: 'too-few-words' }, settings)).toEqual([]);
    expect(certaintyFactor(0, DEFAULT_CLASSIFIER_OPTIONS)).toBe(0);
  });
});
