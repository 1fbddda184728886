// `npm run tune`: the Bayes accuracy figures of `npm run eval` in under a minute, for trying classifier
// and tokenizer settings before measuring them. Each message is tokenized once per view and the counts
// are kept in memory, learned as `sluice learn` learns them (ham first, then spam; a message learned
// twice counts once, learned again as the other class its counts move). Messages are ordered by Bayes'
// certainty, which the gateway's score rounds to two decimals, so a figure may differ from the eval's in
// its fourth decimal. No bogofilter, no store, no speed: `npm run eval` is the measurement of record.
//
//   npm run tune [-- --parts folds,splits,curve,balance] [--folds 0-9] [--classifier JSON] [--tokenizer JSON]
//
// --classifier and --tokenizer take option overrides, e.g. --classifier '{"evidenceWeight":6}'; the
// figures with the defaults are printed beside them.
import { parseArgs } from 'node:util';
import { bayesSettings } from '../src/bayes/index.ts';
import { classify, type ClassifierOptions } from '../src/bayes/classifier.ts';
import { messageDigest } from '../src/bayes/learner.ts';
import { tokenize, type TokenizerOptions } from '../src/bayes/tokenizer.ts';
import { parseConfig } from '../src/config/load.ts';
import { parseMessage } from '../src/scan/pipeline.ts';
import { auc, recallAt } from './eval/metrics.ts';
import { balanceSplits, curveSplits, FIRST_TWO_FOLDS, foldSplits, generalizationSplits, loadCorpus, parseFolds, rowLabel, scoredOf, type Sample, type Split, type View } from './eval/splits.ts';

const PARTS = ['folds', 'splits', 'curve', 'balance'];

const { values: args } = parseArgs({
  options: {
    parts: { type: 'string', default: PARTS.join(',') },
    folds: { type: 'string', default: '0-9' },
    classifier: { type: 'string', default: '{}' },
    tokenizer: { type: 'string', default: '{}' },
  },
});

interface Tokens {
  /** Dense indexes of the message's token ids into the model's count arrays. */
  index: Int32Array;
  kinds: Uint8Array;
  words: number;
  digest: string;
}

/** Messages read by one set of tokenizer options, each once per view, their token ids made dense indexes. */
class TokenIndex {
  private readonly ids = new Map<bigint, number>();
  private readonly cache = new Map<string, Tokens>();
  private readonly options: TokenizerOptions;
  private readonly maxScanSize: number | undefined;

  constructor(options: TokenizerOptions, maxScanSize: number | undefined) {
    this.options = options;
    this.maxScanSize = maxScanSize;
  }

  get size(): number {
    return this.ids.size;
  }

  tokens(sample: Sample, view: View): Tokens {
    const key = `${view}:${sample.full.id}`;
    let tokens = this.cache.get(key);
    if (tokens) return tokens;
    const message = parseMessage(sample[view].raw, this.maxScanSize);
    if (!message.parsed) throw new Error(`${sample.full.id}: ${message.parseError}`);
    // As in the eval: body only runs with bayes.headerTokens off.
    const read = tokenize(message.parsed, { ...this.options, headers: this.options.headers && view === 'full' }, message.raw);
    const index = new Int32Array(read.ids.length);
    for (let i = 0; i < read.ids.length; i++) {
      let k = this.ids.get(read.ids[i]);
      if (k === undefined) this.ids.set(read.ids[i], (k = this.ids.size));
      index[i] = k;
    }
    tokens = { index, kinds: read.kinds, words: read.words, digest: messageDigest(message) };
    this.cache.set(key, tokens);
    return tokens;
  }
}

/** One way of reading and judging mail. */
interface Setup {
  index: TokenIndex;
  classifier: ClassifierOptions;
}

class Counts {
  readonly spam: Int32Array;
  readonly ham: Int32Array;
  learnedSpam = 0;
  learnedHam = 0;
  private readonly learned = new Map<string, { spam: boolean; index: Int32Array }>();

  constructor(size: number) {
    this.spam = new Int32Array(size);
    this.ham = new Int32Array(size);
  }

  learn(tokens: Tokens, spam: boolean): void {
    const before = this.learned.get(tokens.digest);
    if (before?.spam === spam) return;
    if (before) this.add(before.index, before.spam, -1);
    this.add(tokens.index, spam, 1);
    this.learned.set(tokens.digest, { spam, index: tokens.index });
  }

  private add(index: Int32Array, spam: boolean, sign: number): void {
    const counts = spam ? this.spam : this.ham;
    for (const k of index) counts[k] += sign;
    if (spam) this.learnedSpam += sign;
    else this.learnedHam += sign;
  }
}

/** Bayes' certainty for each scored message of the split, in the order of its parts' scoring sets. */
function certainties(setup: Setup, split: Split): number[] {
  // Tokenize first, so that the count arrays cover every token the split reads.
  for (const part of split.parts) for (const s of [...part.learn, ...part.score]) setup.index.tokens(s, split.view);
  const options = { ...setup.classifier, ...(split.minLearns ? { minLearns: split.minLearns } : {}) };
  const out: number[] = [];
  for (const part of split.parts) {
    const counts = new Counts(setup.index.size);
    for (const spam of [false, true]) for (const s of part.learn) if (s.spam === spam) counts.learn(setup.index.tokens(s, split.view), spam);
    for (const s of part.score) {
      const t = setup.index.tokens(s, split.view);
      const spamCounts = new Float64Array(t.index.length);
      const hamCounts = new Float64Array(t.index.length);
      for (let i = 0; i < t.index.length; i++) {
        spamCounts[i] = counts.spam[t.index[i]];
        hamCounts[i] = counts.ham[t.index[i]];
      }
      const result = classify(spamCounts, hamCounts, { spam: counts.learnedSpam, ham: counts.learnedHam }, t.words, options, t.kinds);
      out.push(result.kind === 'scored' ? result.certainty : 0);
    }
  }
  return out;
}

function figures(split: Split, scores: number[], keep?: (s: Sample) => boolean): string {
  const scored = scoredOf(split, scores, keep);
  return `${((1 - auc(scored)) * 100).toFixed(4).padStart(9)}${recallAt(scored, 0.001).toFixed(4).padStart(9)}${recallAt(scored, 0.01).toFixed(4).padStart(9)}`;
}

/** The overrides given as JSON, each a known option: a misspelt name would otherwise change nothing. */
function overrides<T extends object>(what: string, json: string, known: T): Partial<T> {
  const given = JSON.parse(json) as Partial<T>;
  const unknown = Object.keys(given).filter((key) => !(key in known));
  if (unknown.length) throw new Error(`unknown ${what} option${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (options: ${Object.keys(known).join(', ')})`);
  return given;
}

const parts = new Set(args.parts.split(',').map((p) => p.trim()));
for (const p of parts) if (!PARTS.includes(p)) throw new Error(`unknown part '${p}' (parts: ${PARTS.join(', ')})`);
const started = performance.now();
const settings = bayesSettings(parseConfig({}));
const defaults: Setup = { index: new TokenIndex(settings.tokenizer, settings.maxScanSize), classifier: settings.classifier };
const tokenizerOverrides = overrides('tokenizer', args.tokenizer, settings.tokenizer);
const classifierOverrides = overrides('classifier', args.classifier, settings.classifier);
const tokenizerChanged = Object.keys(tokenizerOverrides).length > 0;
const variant: Setup | undefined =
  tokenizerChanged || Object.keys(classifierOverrides).length > 0
    ? {
        // Without tokenizer overrides the variant reads the same tokens.
        index: tokenizerChanged ? new TokenIndex({ ...settings.tokenizer, ...tokenizerOverrides }, settings.maxScanSize) : defaults.index,
        classifier: { ...settings.classifier, ...classifierOverrides },
      }
    : undefined;

const samples = await loadCorpus();
const splits: Split[] = [];
if (parts.has('folds')) splits.push(...foldSplits(samples, parseFolds(args.folds)));
if (parts.has('splits')) splits.push(...generalizationSplits(samples));
if (parts.has('curve')) splits.push(...curveSplits(samples));
if (parts.has('balance')) splits.push(...balanceSplits(samples));

const columns = '(1-AUC)%   R@0.1%     R@1%';
process.stdout.write(
  `${rowLabel('split', 'view')}  defaults: ${columns}${variant ? `    variant: ${columns}` : ''}\n`,
);
for (const split of splits) {
  const base = certainties(defaults, split);
  const other = variant ? certainties(variant, split) : undefined;
  const row = (name: string, keep?: (s: Sample) => boolean) =>
    `${rowLabel(name, split.view)}  ${' '.repeat(10)}${figures(split, base, keep)}${other ? `    ${' '.repeat(9)}${figures(split, other, keep)}` : ''}\n`;
  process.stdout.write(row(split.name));
  if (split.parts.length > 2) process.stdout.write(row(FIRST_TWO_FOLDS.name, FIRST_TWO_FOLDS.keep));
}
process.stdout.write(`\n${((performance.now() - started) / 1000).toFixed(0)} s; orders by certainty (the eval by the score, rounded to two decimals)\n`);
