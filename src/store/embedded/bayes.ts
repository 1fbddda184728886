// Bayes token counts in SQLite. Token ids are the table's integer primary key (the rowid itself),
// so a token costs one B-tree row of about 20 bytes. Each message is read and learned with one
// statement over a JSON array of ids, not one statement per token.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { TokenCountCache } from './token-cache.ts';
import type { BayesClass, BayesCounts, BayesStats, BayesStore, LearnItem, LearnOutcome } from '../types.ts';

const DAY_MS = 86_400_000;
/** Embedded pruning runs from `learn`, at most this often. */
const PRUNE_INTERVAL_MS = DAY_MS;
/** Most slots of the read cache (it grows to this as needed): 2^21 slots take 32 MB and hold up to 1,468,000 tokens. */
const CACHE_SLOTS = 2 ** 21;
/**
 * After another connection commits, the whole table is read into the cache again at most this often
 * (scan workers that autolearn commit all the time); in between, tokens not cached are read from the file.
 */
const RELOAD_INTERVAL_MS = 60_000;

export interface EmbeddedBayesOptions {
  /** Tokens seen once and not learned for this long are pruned. */
  tokenTtlDays: number;
  /** Most slots of the read cache; tests make it small. */
  cacheSlots?: number;
}

export class SqliteBayesStore implements BayesStore {
  private readonly db: DatabaseSync;
  private readonly options: EmbeddedBayesOptions;
  private readonly selectCounts: StatementSync;
  private readonly selectTotals: StatementSync;
  private readonly selectLearned: StatementSync;
  private readonly upsertLearned: StatementSync;
  private readonly addTotal: StatementSync;
  private readonly addTokens: Record<BayesClass, StatementSync>;
  private readonly removeTokens: Record<BayesClass, StatementSync>;
  private readonly pruneTokens: StatementSync;
  private lastPrune = 0;
  // Read cache of token counts: scanning hits the same header and common-word tokens again and again.
  // This store's own learns update it in place (autolearn writes all the time, and clearing on each
  // would leave it nearly always cold); `data_version` changes only when another connection commits,
  // and then it is dropped.
  //
  // A table that fits the cache is read into it whole, and then the cache is complete: a token it
  // does not hold is not in the table, so scanning reads nothing from the file. Most of a new
  // message's tokens are ones never learned, and looking those up in the file was most of the
  // store's cost per scan. It is read whole once the tokens looked up in the file one by one since
  // the cache was emptied outnumber the table's rows: a row read whole costs about what a token
  // looked up does (1.2 against 0.8 µs), so a one-message `sluice check` never pays for the whole
  // table, and a gateway pays at most about twice what the cheaper of the two ways would have cost.
  private readonly cache: TokenCountCache;
  private readonly dataVersion: StatementSync;
  private readonly selectAllTokens: StatementSync;
  private readonly countTokens: StatementSync;
  private cachedTotals: { spam: number; ham: number } | undefined;
  private cacheVersion = -1;
  private complete = false;
  /** No whole-table read before this time (ms since the epoch): set after another connection's commit. */
  private nextLoadAt = 0;
  /** Tokens looked up in the file since the cache was last emptied. */
  private readFromFile = 0;
  /** The table's rows when last counted; -1: not counted since the cache was emptied. */
  private knownRows = -1;

  constructor(db: DatabaseSync, options: EmbeddedBayesOptions) {
    this.db = db;
    this.options = options;
    this.cache = new TokenCountCache(options.cacheSlots ?? CACHE_SLOTS);
    // Token pages are read and written at random: keep a good part of them in memory, and map the file.
    db.exec('PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456;');
    db.exec(`
      CREATE TABLE IF NOT EXISTS bayes_tokens (
        id INTEGER PRIMARY KEY,
        spam INTEGER NOT NULL DEFAULT 0,
        ham INTEGER NOT NULL DEFAULT 0,
        -- day (since the epoch) the token was last learned: pruning age
        day INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS bayes_learned (
        digest TEXT PRIMARY KEY,
        class TEXT NOT NULL,
        time INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS bayes_totals (
        class TEXT PRIMARY KEY,
        learned INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO bayes_totals (class, learned) VALUES ('spam', 0), ('ham', 0);
      CREATE TABLE IF NOT EXISTS bayes_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    `);
    // json_each's key is the array index, so results map back to the caller's order without reading 64-bit ids.
    this.selectCounts = db.prepare(
      'SELECT j.key AS i, t.spam AS spam, t.ham AS ham FROM json_each(?) AS j JOIN bayes_tokens AS t ON t.id = j.value',
    );
    // Rows as arrays: an object per row cost more than the lookup itself.
    this.selectCounts.setReturnArrays(true);
    this.selectTotals = db.prepare('SELECT class, learned FROM bayes_totals');
    this.selectLearned = db.prepare('SELECT class FROM bayes_learned WHERE digest = ?');
    this.upsertLearned = db.prepare(
      'INSERT INTO bayes_learned (digest, class, time) VALUES (?, ?, ?) ON CONFLICT(digest) DO UPDATE SET class = excluded.class, time = excluded.time',
    );
    this.addTotal = db.prepare('UPDATE bayes_totals SET learned = max(0, learned + ?) WHERE class = ?');
    // JSON of [id, n] pairs, sorted by id: add n to a class, or take n away (never below 0).
    const add = (column: BayesClass) =>
      db.prepare(
        `INSERT INTO bayes_tokens (id, ${column}, day) SELECT value ->> 0, value ->> 1, ? FROM json_each(?) WHERE true
         ON CONFLICT(id) DO UPDATE SET ${column} = ${column} + excluded.${column}, day = excluded.day`,
      );
    this.addTokens = { spam: add('spam'), ham: add('ham') };
    const remove = (column: BayesClass) =>
      db.prepare(
        `UPDATE bayes_tokens SET ${column} = max(0, ${column} - (j.value ->> 1)) FROM json_each(?) AS j WHERE bayes_tokens.id = j.value ->> 0`,
      );
    this.removeTokens = { spam: remove('spam'), ham: remove('ham') };
    this.dataVersion = db.prepare('PRAGMA data_version');
    // Ids as their two 32-bit halves, which is how the cache keys them (and exact as JS numbers).
    this.selectAllTokens = db.prepare('SELECT id & 4294967295, (id >> 32) & 4294967295, spam, ham FROM bayes_tokens');
    this.selectAllTokens.setReturnArrays(true);
    this.countTokens = db.prepare('SELECT count(*) AS n FROM bayes_tokens');
    this.pruneTokens = db.prepare('DELETE FROM bayes_tokens WHERE spam + ham <= 1 AND day < ?');
  }

  async counts(ids: BigInt64Array): Promise<BayesCounts> {
    const spam = new Float64Array(ids.length);
    const ham = new Float64Array(ids.length);
    this.checkCache();
    this.maybeLoadWholeTable();
    const halves = new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
    const missing: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const slot = this.cache.find(halves[2 * i], halves[2 * i + 1]);
      if (slot < 0) {
        if (!this.complete) missing.push(i);
        continue;
      }
      spam[i] = this.cache.spamAt(slot);
      ham[i] = this.cache.hamAt(slot);
    }
    if (missing.length) {
      this.readFromFile += missing.length;
      const wanted = new BigInt64Array(missing.length);
      // Copied by halves: reading a BigInt64Array element allocates a BigInt.
      const wantedHalves = new Uint32Array(wanted.buffer);
      for (let k = 0; k < missing.length; k++) {
        wantedHalves[2 * k] = halves[2 * missing[k]];
        wantedHalves[2 * k + 1] = halves[2 * missing[k] + 1];
      }
      const rows = this.selectCounts.all(idsJson(wanted)) as unknown as [number, number, number][];
      for (const [k, s, h] of rows) {
        spam[missing[k]] = s;
        ham[missing[k]] = h;
      }
      // Tokens not in the table are cached too (as 0, 0): most of a message's rare tokens are unknown.
      for (const i of missing) this.cache.set(halves[2 * i], halves[2 * i + 1], spam[i], ham[i]);
    }
    this.cachedTotals ??= this.totals();
    return { spam, ham, learnedSpam: this.cachedTotals.spam, learnedHam: this.cachedTotals.ham };
  }

  /** Drops the read cache when another connection (a worker thread, another process) has committed. */
  private checkCache(): void {
    const version = Number((this.dataVersion.get() as { data_version: number }).data_version);
    if (version !== this.cacheVersion) {
      // The first check of a new store is no sign of busy writers.
      if (this.cacheVersion !== -1) this.nextLoadAt = Date.now() + RELOAD_INTERVAL_MS;
      this.dropCache();
      this.cacheVersion = version;
    }
  }

  /** Reads the whole table once looking tokens up one by one has cost more (see the cache's comment). */
  private maybeLoadWholeTable(): void {
    if (this.complete || Date.now() < this.nextLoadAt) return;
    if (this.knownRows < 0) this.knownRows = this.countRows();
    if (this.readFromFile >= this.knownRows) this.loadWholeTable();
  }

  /** Reads every token into the cache when they fit; otherwise the cache stays a partial one. */
  private loadWholeTable(): void {
    this.nextLoadAt = Date.now() + RELOAD_INTERVAL_MS;
    // Counted again (SQLite counts a table's rows by its pages, about 1 ms for a million): a table
    // grown past the cache is not read in vain.
    this.knownRows = this.countRows();
    const room = this.cache.maxEntries;
    if (this.knownRows > room || this.readFromFile < this.knownRows) return;
    this.cache.clear();
    let rows = 0;
    for (const [low, high, spam, ham] of this.selectAllTokens.iterate() as Iterable<[number, number, number, number]>) {
      if (++rows > room) {
        this.cache.clear();
        return;
      }
      this.cache.set(low, high, spam, ham);
    }
    this.complete = true;
  }

  private countRows(): number {
    return Number((this.countTokens.get() as { n: number }).n);
  }

  private dropCache(): void {
    this.cache.clear();
    this.complete = false;
    this.readFromFile = 0;
    this.knownRows = -1;
    this.cachedTotals = undefined;
  }

  /**
   * Moves the cached counts as a token statement just moved the table's (`sign` -1: taken away).
   * A complete cache also takes the tokens just added to the table, or stops being complete when
   * they would not fit.
   */
  private cacheAdd(as: BayesClass, tally: TokenTally, sign: 1 | -1): void {
    const halves = new Uint32Array(tally.ids.buffer, tally.ids.byteOffset, tally.ids.length * 2);
    for (let k = 0; k < tally.n.length; k++) {
      const n = sign * tally.n[k];
      const spam = as === 'spam' ? n : 0;
      const ham = as === 'ham' ? n : 0;
      const low = halves[2 * k];
      const high = halves[2 * k + 1];
      if (!this.complete || sign < 0 || this.cache.find(low, high) >= 0) {
        this.cache.add(low, high, spam, ham);
      } else if (this.cache.size < this.cache.maxEntries) {
        this.cache.set(low, high, spam, ham);
      } else {
        this.dropCache();
      }
    }
  }

  async learn(digest: string, ids: BigInt64Array, as: BayesClass, now = Date.now()): Promise<LearnOutcome> {
    return (await this.learnMany([{ digest, ids, as }], now))[0];
  }

  /**
   * One write transaction for all. The batch's token changes are summed per token and applied in id
   * order: each token row is written once per batch, and neighbouring ids share B-tree pages.
   */
  async learnMany(items: readonly LearnItem[], now = Date.now()): Promise<LearnOutcome[]> {
    const outcomes: LearnOutcome[] = [];
    const day = Math.floor(now / DAY_MS);
    this.db.exec('BEGIN IMMEDIATE');
    try {
      // Outcomes first, in order, so a digest repeated within the batch behaves as if learned one by one.
      const classOf = new Map<string, BayesClass | null>();
      const added: Record<BayesClass, BigInt64Array[]> = { spam: [], ham: [] };
      const removed: Record<BayesClass, BigInt64Array[]> = { spam: [], ham: [] };
      const totals = { spam: 0, ham: 0 };
      for (const { digest, ids, as } of items) {
        const previous = classOf.has(digest)
          ? classOf.get(digest)!
          : ((this.selectLearned.get(digest) as { class: BayesClass } | undefined)?.class ?? null);
        if (previous === as) {
          outcomes.push('unchanged');
          continue;
        }
        added[as].push(ids);
        totals[as]++;
        if (previous) {
          removed[previous].push(ids);
          totals[previous]--;
        }
        classOf.set(digest, as);
        this.upsertLearned.run(digest, as, now);
        outcomes.push(previous ? 'relearned' : 'learned');
      }
      // The cache follows each statement, in the same order: adding before taking away, the max(0, …)
      // clamps give the same counts. A rollback drops the cache instead.
      for (const as of ['spam', 'ham'] as const) {
        if (added[as].length) {
          const tally = tallyTokens(added[as]);
          this.addTokens[as].run(day, countsJson(tally));
          this.cacheAdd(as, tally, 1);
        }
        if (removed[as].length) {
          const tally = tallyTokens(removed[as]);
          this.removeTokens[as].run(countsJson(tally));
          this.cacheAdd(as, tally, -1);
        }
        if (totals[as]) {
          this.addTotal.run(totals[as], as);
          if (this.cachedTotals) this.cachedTotals[as] = Math.max(0, this.cachedTotals[as] + totals[as]);
        }
      }
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      this.dropCache();
      throw err;
    }
    if (outcomes.some((o) => o !== 'unchanged') && now - this.lastPrune > PRUNE_INTERVAL_MS) {
      this.lastPrune = now;
      await this.prune(now - this.options.tokenTtlDays * DAY_MS);
    }
    return outcomes;
  }

  async learnedAs(digest: string): Promise<BayesClass | null> {
    return (this.selectLearned.get(digest) as { class: BayesClass } | undefined)?.class ?? null;
  }

  async stats(): Promise<BayesStats> {
    const totals = this.totals();
    const tokens = this.countRows();
    return { learnedSpam: totals.spam, learnedHam: totals.ham, tokens, bytes: this.tableBytes() };
  }

  /** Rare (daily at most) and the deleted ids are not known here: drops the whole cache if any went. */
  async prune(before: number): Promise<number> {
    const pruned = Number(this.pruneTokens.run(Math.floor(before / DAY_MS)).changes);
    if (pruned) {
      this.dropCache();
      this.nextLoadAt = 0;
    }
    return pruned;
  }

  async reset(): Promise<void> {
    this.dropCache();
    this.nextLoadAt = 0;
    this.db.exec(`DELETE FROM bayes_tokens; DELETE FROM bayes_learned; UPDATE bayes_totals SET learned = 0;`);
  }

  private totals(): { spam: number; ham: number } {
    const out = { spam: 0, ham: 0 };
    for (const row of this.selectTotals.all() as { class: BayesClass; learned: number }[]) out[row.class] = Number(row.learned);
    return out;
  }

  /** Pages used by the token table (dbstat is not always compiled in, so fall back to a per-row estimate). */
  private tableBytes(): number {
    try {
      const row = this.db.prepare("SELECT sum(pgsize) AS bytes FROM dbstat WHERE name = 'bayes_tokens'").get() as { bytes: number | null };
      return Number(row.bytes ?? 0);
    } catch {
      const pageSize = Number((this.db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size);
      const pages = Number((this.db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count);
      return pageSize * pages;
    }
  }
}

/** A batch's tokens: the distinct ids in id order, and how many of the messages contain each. */
interface TokenTally {
  ids: BigInt64Array;
  n: Uint32Array;
}

function tallyTokens(messages: readonly BigInt64Array[]): TokenTally {
  let total = 0;
  for (const ids of messages) total += ids.length;
  const all = new BigInt64Array(total);
  let at = 0;
  for (const ids of messages) {
    all.set(ids, at);
    at += ids.length;
  }
  all.sort();
  const ids = new BigInt64Array(total);
  const n = new Uint32Array(total);
  let k = 0;
  for (let i = 0; i < all.length; k++) {
    let j = i + 1;
    while (j < all.length && all[j] === all[i]) j++;
    ids[k] = all[i];
    n[k] = j - i;
    i = j;
  }
  return { ids: ids.subarray(0, k), n: n.subarray(0, k) };
}

/** `[[id, n], …]` in id order. */
function countsJson({ ids, n }: TokenTally): string {
  const parts: string[] = [];
  for (let k = 0; k < n.length; k++) parts.push(`[${ids[k]},${n[k]}]`);
  return `[${parts.join(',')}]`;
}

/** Ids as a JSON array: SQLite reads 64-bit integers from JSON exactly. */
function idsJson(ids: BigInt64Array): string {
  return `[${ids.join(',')}]`;
}
