// All shared state goes through this interface, so the embedded and the Redis store are interchangeable.
import type { DsnRequest } from '../deliver/dsn.ts';
import type { Action } from '../scan/types.ts';

export interface QuarantineEntry {
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  clientIp: string;
  helo: string;
  mailFrom: string;
  rcptTo: string[];
  subject: string;
  size: number;
  score: number;
  action: Action;
  symbols: { name: string; score: number }[];
  /** The sender's DSN parameters (RFC 3461), passed on again when the message is released. */
  dsn?: DsnRequest;
}

export interface QuarantineQuery {
  limit: number;
  offset?: number;
  /** Entries at or after / before these times (ms). */
  since?: number;
  until?: number;
  sender?: string;
  recipient?: string;
  symbol?: string;
  minScore?: number;
}

export interface QuarantineIndex {
  add(entry: QuarantineEntry): Promise<void>;
  get(id: string): Promise<QuarantineEntry | null>;
  remove(id: string): Promise<boolean>;
  /** Newest first. */
  list(query: QuarantineQuery): Promise<{ total: number; entries: QuarantineEntry[] }>;
  /** Ids of entries older than `time` (ms), oldest first, at most `limit`. */
  olderThan(time: number, limit: number): Promise<string[]>;
  /**
   * Takes the right to release (or delete) one entry, for `ttlMs`: true for one caller only, whichever node
   * it runs on, so two operators asking at once deliver the message once. `holder` names the caller.
   */
  claim(id: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives a claim back (the release failed and may be tried again); only the holder's own claim goes. */
  unclaim(id: string, holder: string): Promise<void>;
}

/**
 * The bytes of held messages. Without one in the store (embedded), they are files under `quarantine.dir`
 * on this node; the Redis store keeps them beside the index, where every node reaches them.
 */
export interface QuarantineMessages {
  /** Stores a held message's bytes, kept for `ttlMs`; once `durable` has resolved, the write survives a crash. */
  put(entry: QuarantineEntry, raw: Buffer, ttlMs: number): Promise<void>;
  get(id: string): Promise<Buffer | null>;
  remove(id: string): Promise<void>;
  /** Resolves once every write made so far would survive the loss of the server (Redis: on replicas too); throws if not. */
  durable(id: string): Promise<void>;
}

export type BayesClass = 'spam' | 'ham';

/** Counts of the requested tokens (same order as the ids) and how many messages each class has learned. */
export interface BayesCounts {
  spam: Float64Array;
  ham: Float64Array;
  learnedSpam: number;
  learnedHam: number;
}

/** learned: counts added; relearned: the message had been learned as the other class and its counts moved; unchanged: already learned as this class. */
export type LearnOutcome = 'learned' | 'relearned' | 'unchanged';

export interface LearnItem {
  digest: string;
  ids: BigInt64Array;
  as: BayesClass;
}

export interface BayesStats {
  learnedSpam: number;
  learnedHam: number;
  tokens: number;
  /** Bytes the token counts take in the store (approximate for Redis). */
  bytes: number;
}

/** Token counts for the Bayes classifier, shared by every gateway using the same store. */
export interface BayesStore {
  /** One read: the counts of these token ids plus the learned totals. */
  counts(ids: BigInt64Array): Promise<BayesCounts>;
  /**
   * Learns one message atomically. `digest` identifies the message: a message learned twice is counted
   * once, and learned again as the other class its counts move.
   */
  learn(digest: string, ids: BigInt64Array, as: BayesClass, now?: number): Promise<LearnOutcome>;
  /** Learns several messages, each as `learn` would, in fewer writes (bulk learning). */
  learnMany(items: readonly LearnItem[], now?: number): Promise<LearnOutcome[]>;
  /** The class a message was learned as, if any. */
  learnedAs(digest: string): Promise<BayesClass | null>;
  stats(): Promise<BayesStats>;
  /** Removes tokens seen only once and not learned since `before` (ms); returns how many. Redis expires them itself. */
  prune(before: number): Promise<number>;
  /** Forgets everything learned (tests and evaluation). */
  reset(): Promise<void>;
}

export interface Store {
  readonly backend: 'embedded' | 'redis';
  quarantine: QuarantineIndex;
  /** Where held messages' bytes live when the store keeps them (shared by every node); absent: files on this node. */
  quarantineMessages?: QuarantineMessages;
  bayes: BayesStore;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  /** Writes a probe key, reads it back and deletes it; throws when the store cannot be written. */
  probe(): Promise<void>;
  close(): Promise<void>;
}
