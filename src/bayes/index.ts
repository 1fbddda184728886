// The Bayes classifier as the rest of Sluice uses it: settings from config, a message in, symbol hits out.
import type { Config } from '../config/schema.ts';
import type { MessageContent, SymbolHit } from '../scan/types.ts';
import type { BayesStore } from '../store/types.ts';
import { certaintyFactor, classify, DEFAULT_CLASSIFIER_OPTIONS, type Classification, type ClassifierOptions } from './classifier.ts';
import { DEFAULT_TOKENIZER_OPTIONS, tokenize, type TokenizerOptions } from './tokenizer.ts';

export interface BayesSettings {
  tokenizer: TokenizerOptions;
  classifier: ClassifierOptions;
  /** `checks.maxScanSize`: learning parses as much of a message as scanning does. */
  maxScanSize?: number;
}

export function bayesSettings(config: Readonly<Config>): BayesSettings {
  return {
    tokenizer: { ...DEFAULT_TOKENIZER_OPTIONS, headers: config.bayes.headerTokens },
    classifier: { ...DEFAULT_CLASSIFIER_OPTIONS, minLearns: config.bayes.minLearns, minWords: config.bayes.minWords },
    maxScanSize: config.checks.maxScanSize,
  };
}

/** Tokenizes, reads the counts in one store call and classifies. */
export async function classifyMessage(store: BayesStore, message: MessageContent, settings: BayesSettings): Promise<Classification> {
  if (!message.parsed) throw new Error(message.parseError ?? 'message not parsed');
  const tokens = tokenize(message.parsed, settings.tokenizer, message.raw);
  if (tokens.words < settings.classifier.minWords) return { kind: 'skipped', reason: 'too-few-words' };
  const counts = await store.counts(tokens.ids);
  return classify(counts.spam, counts.ham, { spam: counts.learnedSpam, ham: counts.learnedHam }, tokens.words, settings.classifier, tokens.kinds);
}

/** BAYES_SPAM or BAYES_HAM with a factor that grows with certainty; nothing when Bayes has no opinion. */
export function bayesHits(result: Classification, settings: BayesSettings): SymbolHit[] {
  if (result.kind !== 'scored') return [];
  const factor = certaintyFactor(result.certainty, settings.classifier);
  const detail = `p=${result.probability.toFixed(4)} tokens=${result.used}`;
  if (result.certainty > 0) return [{ name: 'BAYES_SPAM', factor, detail }];
  if (result.certainty < 0) return [{ name: 'BAYES_HAM', factor, detail }];
  return [];
}
