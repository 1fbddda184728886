// Learning: from files (`sluice learn`, the evaluation), from the gateway's own verdicts (autolearn)
// and from quarantine releases. Every path goes through learnMessage.
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { readMessages } from '../mail/sources.ts';
import { parseMessage } from '../scan/pipeline.ts';
import type { MessageContent, Verdict } from '../scan/types.ts';
import { familyOf } from '../scan/symbols.ts';
import type { BayesClass, BayesStore, LearnItem, LearnOutcome } from '../store/types.ts';
import { tokenize } from './tokenizer.ts';
import type { BayesSettings } from './index.ts';

/**
 * Identifies a message across deliveries: its Message-ID and its body, not the headers each hop adds.
 * The same message learned twice then counts once.
 */
export function messageDigest(message: MessageContent): string {
  const raw = message.raw;
  let bodyStart = raw.indexOf('\r\n\r\n');
  bodyStart = bodyStart >= 0 ? bodyStart + 4 : raw.indexOf('\n\n') >= 0 ? raw.indexOf('\n\n') + 2 : raw.length;
  const hash = createHash('sha256');
  hash.update(message.parsed?.messageId ?? '');
  hash.update('\0');
  hash.update(raw.subarray(bodyStart));
  return hash.digest('base64url').slice(0, 22);
}

/** What the store is given to learn a message: its digest and token ids. */
export function learnItemOf(message: MessageContent, as: BayesClass, settings: BayesSettings): LearnItem {
  if (!message.parsed) throw new Error(`cannot learn an unreadable message: ${message.parseError ?? 'not parsed'}`);
  return { digest: messageDigest(message), ids: tokenize(message.parsed, settings.tokenizer, message.raw).ids, as };
}

export async function learnMessage(store: BayesStore, message: MessageContent, as: BayesClass, settings: BayesSettings): Promise<LearnOutcome> {
  const { digest, ids } = learnItemOf(message, as, settings);
  return store.learn(digest, ids, as);
}

export interface LearnSummary {
  learned: number;
  relearned: number;
  unchanged: number;
  failed: number;
}

export interface LearnProgress {
  file: string;
  done: number;
  outcome: LearnOutcome | 'failed';
  error?: string;
}

/** Learns every message under `paths` (files, directories, maildirs, mbox) as one class. */
export async function learnPaths(
  store: BayesStore,
  paths: readonly string[],
  as: BayesClass,
  settings: BayesSettings,
  onProgress?: (progress: LearnProgress) => void,
): Promise<LearnSummary> {
  let unreadable = 0;
  const sources = readMessages(paths, (file, error) => {
    unreadable++;
    onProgress?.({ file, done: 0, outcome: 'failed', error });
  });
  const summary = await learnSources(store, sources, as, settings, onProgress);
  summary.failed += unreadable;
  return summary;
}

/** Messages per store write: bulk learning writes each token's page once per batch. */
const LEARN_BATCH = 256;

/** Learns messages from any source of raw messages (the evaluation passes messages read once). */
export async function learnSources(
  store: BayesStore,
  sources: AsyncIterable<{ file: string; raw: Buffer }> | Iterable<{ file: string; raw: Buffer }>,
  as: BayesClass,
  settings: BayesSettings,
  onProgress?: (progress: LearnProgress) => void,
): Promise<LearnSummary> {
  const summary: LearnSummary = { learned: 0, relearned: 0, unchanged: 0, failed: 0 };
  let done = 0;
  let batch: (LearnItem & { file: string })[] = [];
  const flush = async () => {
    const outcomes = await store.learnMany(batch);
    batch.forEach(({ file }, i) => {
      summary[outcomes[i]]++;
      onProgress?.({ file, done: done - batch.length + i + 1, outcome: outcomes[i] });
    });
    batch = [];
  };
  for await (const { file, raw } of sources) {
    const message = parseMessage(raw, settings.maxScanSize);
    if (!message.parsed) {
      if (batch.length) await flush();
      done++;
      summary.failed++;
      onProgress?.({ file, done, outcome: 'failed', error: `cannot learn an unreadable message: ${message.parseError}` });
      continue;
    }
    done++;
    batch.push({ file, digest: messageDigest(message), ids: tokenize(message.parsed, settings.tokenizer, message.raw).ids, as });
    if (batch.length >= LEARN_BATCH) await flush();
  }
  if (batch.length) await flush();
  return summary;
}

/**
 * The class autolearn would learn a scanned message as, or null. Bayes must not teach itself, so the
 * other symbols have to agree on their own: spam needs a high total and enough non-Bayes score; ham a
 * low total and no spammy non-Bayes symbol at all.
 */
export function autolearnClass(verdict: Verdict, config: Readonly<Config>): BayesClass | null {
  if (!config.bayes.autolearn) return null;
  const others = verdict.symbols.filter((s) => familyOf(s.name) !== 'BAYES');
  if (others.some((s) => s.name.endsWith('_ERROR'))) return null;
  const evidence = others.reduce((sum, s) => sum + s.score, 0);
  if (verdict.score >= config.bayes.autolearnSpamScore && evidence >= config.bayes.autolearnEvidence) return 'spam';
  if (verdict.score <= config.bayes.autolearnHamScore && others.every((s) => s.score <= 0)) return 'ham';
  return null;
}

/** Called when an operator releases a message from quarantine: with `quarantine.learnOnRelease` it is learned as ham. */
export async function learnReleased(store: BayesStore, raw: Buffer, config: Readonly<Config>, settings: BayesSettings): Promise<LearnOutcome | null> {
  if (!config.quarantine.learnOnRelease) return null;
  const message = parseMessage(raw, settings.maxScanSize);
  if (!message.parsed) return null;
  return learnMessage(store, message, 'ham', settings);
}

/** What the composition root hands to the quarantine (learn on release, learn as spam) and the gateway (autolearn). */
export interface BayesTrainer {
  learnHam(raw: Buffer): Promise<LearnOutcome>;
  learnSpam(raw: Buffer): Promise<LearnOutcome>;
  /** After a verdict: learns the message when autolearn is on and the evidence agrees; never throws. */
  autolearn(message: MessageContent, verdict: Verdict): Promise<BayesClass | null>;
  /** Writes the autolearned messages still waiting for their batch (before the store closes). */
  flush(): Promise<void>;
}

// Autolearned messages are written in batches: each write transaction rewrites every page its tokens
// touch, so one message at a time cost about 9 ms of CPU each (15–23 ms of the event loop) on an
// embedded table of 337,000 tokens, and under 2 ms each fifty at a time (`npm run bench:bayes`).
// A message waits for its batch at most AUTOLEARN_WAIT_MS, after its verdict.
const AUTOLEARN_BATCH = 50;
const AUTOLEARN_WAIT_MS = 100;

/** Gathers learns and writes them with one `learnMany` when the batch is full or has waited long enough. */
export class LearnBatcher {
  private pending: { item: LearnItem; resolve: (outcome: LearnOutcome) => void; reject: (err: Error) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly store: BayesStore;
  private readonly maxBatch: number;
  private readonly waitMs: number;

  constructor(store: BayesStore, maxBatch = AUTOLEARN_BATCH, waitMs = AUTOLEARN_WAIT_MS) {
    this.store = store;
    this.maxBatch = maxBatch;
    this.waitMs = waitMs;
  }

  learn(item: LearnItem): Promise<LearnOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxBatch) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.waitMs).unref();
    });
  }

  /** Writes what is waiting; resolves once every batch started so far is written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length) {
      // Batches are written one after another, in the order their messages came.
      this.writing = this.writing.then(async () => {
        try {
          const outcomes = await this.store.learnMany(batch.map((p) => p.item));
          batch.forEach((p, i) => p.resolve(outcomes[i]));
        } catch (err) {
          for (const p of batch) p.reject(err as Error);
        }
      });
    }
    return this.writing;
  }
}

export function bayesTrainer(store: BayesStore, config: Readonly<Config>, settings: BayesSettings, onError?: (err: Error) => void): BayesTrainer {
  const learnRaw = async (raw: Buffer, as: BayesClass) => learnMessage(store, parseMessage(raw, settings.maxScanSize), as, settings);
  const batcher = new LearnBatcher(store);
  return {
    learnHam: (raw) => learnRaw(raw, 'ham'),
    learnSpam: (raw) => learnRaw(raw, 'spam'),
    async autolearn(message, verdict) {
      try {
        const as = autolearnClass(verdict, config);
        if (!as || !message.parsed) return null;
        await batcher.learn(learnItemOf(message, as, settings));
        return as;
      } catch (err) {
        onError?.(err as Error);
        return null;
      }
    },
    flush: () => batcher.flush(),
  };
}
