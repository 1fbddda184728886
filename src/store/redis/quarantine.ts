// Quarantine index in Redis: one JSON string per entry, a sorted set of ids by time, one by score, and
// one by time per sender, per recipient and per symbol. The add and remove scripts keep them all in step.
//
// A filtered list starts from the smallest index that the query restricts to and checks the other
// conditions with ZMSCORE, so it reads the ids of a few hundred entries instead of every entry's JSON.
// When that would mean checking thousands of ids (two broad filters, a deep offset), Redis intersects
// the sets itself in one script instead.
import { randomBytes } from 'node:crypto';
import type { QuarantineEntry, QuarantineIndex, QuarantineQuery } from '../types.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import { LuaScript } from './script.ts';

const addScript = new LuaScript('quarantine-add');
const removeScript = new LuaScript('quarantine-remove');
const intersectScript = new LuaScript('quarantine-intersect');
const unclaimScript = new LuaScript('quarantine-unclaim');
/** Ids read per round trip while walking an index: small first (a first page needs few), then larger. */
const CHUNK_MIN = 500;
const CHUNK_MAX = 5000;
/** How often add and remove read again when the entry changed under them. */
const RETRIES = 5;

interface TimeRange {
  /** ZRANGE BYSCORE bounds: since inclusive, until exclusive. */
  min: string;
  max: string;
  since: number;
  until: number;
}

export class RedisQuarantineIndex implements QuarantineIndex {
  /**
   * Above this many ids to check, the intersection runs in Redis: a few milliseconds there against
   * tens in the client, but it holds up Redis meanwhile, so small ones stay in the client.
   */
  serverSideAbove = 2000;
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;

  constructor(client: RedisClient, keys: RedisKeys) {
    this.client = client;
    this.keys = keys;
  }

  async add(entry: QuarantineEntry): Promise<void> {
    const json = JSON.stringify(entry);
    // Usually the id is new; when it is not, the script says so and the stored version is read, so
    // that its index entries are removed with it.
    let previous: string | null = null;
    for (let attempt = 0; ; attempt++) {
      if ((await this.write(entry.id, json, previous)) === 1) return;
      if (attempt >= RETRIES) throw new Error(`quarantine entry ${entry.id} kept changing while being added`);
      previous = await this.client.get(this.keys.quarantineEntry(entry.id));
    }
  }

  async get(id: string): Promise<QuarantineEntry | null> {
    const json = await this.client.get(this.keys.quarantineEntry(id));
    return json ? (JSON.parse(json) as QuarantineEntry) : null;
  }

  async remove(id: string): Promise<boolean> {
    // The script needs the entry's sender, recipients and symbols to know its index keys; it checks
    // that the entry is still the one read here, else this reads again.
    for (let attempt = 0; ; attempt++) {
      const json = await this.client.get(this.keys.quarantineEntry(id));
      const keys = [this.keys.quarantineEntry(id), this.keys.quarantineByTime, this.keys.quarantineByScore, ...this.valueKeys(json)];
      const result = Number(await removeScript.run(this.client, keys, [id, json ?? '']));
      if (result >= 0) return result > 0;
      if (attempt >= RETRIES) throw new Error(`quarantine entry ${id} kept changing while being removed`);
    }
  }

  async list(q: QuarantineQuery): Promise<{ total: number; entries: QuarantineEntry[] }> {
    const range: TimeRange = {
      min: q.since !== undefined ? String(q.since) : '-inf',
      max: q.until !== undefined ? `(${q.until}` : '+inf',
      since: q.since ?? -Infinity,
      until: q.until ?? Infinity,
    };
    const offset = q.offset ?? 0;
    const limit = Math.max(0, q.limit);
    // The time-ordered indexes the query restricts to; empty filters mean no filter, as in SQLite.
    const sets: string[] = [];
    if (q.sender) sets.push(this.keys.quarantineBySender(q.sender));
    if (q.recipient) sets.push(this.keys.quarantineByRecipient(q.recipient));
    if (q.symbol) sets.push(this.keys.quarantineBySymbol(q.symbol));
    if (!sets.length) sets.push(this.keys.quarantineByTime);
    const minScore = q.minScore;

    // How many entries each index holds for the query: one round trip, O(log n) each.
    const pipeline = this.client.pipeline();
    for (const key of sets) pipeline.zcount(key, range.min, range.max);
    if (minScore !== undefined) pipeline.zcount(this.keys.quarantineByScore, String(minScore), '+inf');
    const counts = ((await pipeline.exec()) ?? []).map(([err, n]) => {
      if (err) throw err;
      return Number(n);
    });
    if (counts.some((n) => n === 0)) return { total: 0, entries: [] };
    const setCounts = counts.slice(0, sets.length);
    const scoreCount = minScore !== undefined ? counts[sets.length] : undefined;

    // One index and nothing else to check: it answers directly.
    if (sets.length === 1 && scoreCount === undefined) {
      const ids = limit > 0 ? await this.client.zrange(sets[0], range.max, range.min, 'BYSCORE', 'REV', 'LIMIT', offset, limit) : [];
      return { total: setCounts[0], entries: await this.entries(ids) };
    }

    // The total is known without walking only when the score index alone decides it.
    const knownTotal = sets[0] === this.keys.quarantineByTime && q.since === undefined && q.until === undefined ? scoreCount : undefined;
    if (knownTotal !== undefined && (limit === 0 || offset >= knownTotal)) return { total: knownTotal, entries: [] };

    // Start from the smallest time index; when the total is known the walk stops after the page,
    // which for a common match is far less than the whole index.
    let driver = 0;
    for (let i = 1; i < sets.length; i++) if (setCounts[i] < setCounts[driver]) driver = i;
    const walkCost = knownTotal !== undefined ? Math.min(setCounts[driver], ((offset + limit) * setCounts[driver]) / knownTotal) : setCounts[driver];
    const others = sets.filter((_, i) => i !== driver);
    const byScore = scoreCount !== undefined && scoreCount < walkCost;
    const { total, ids } =
      Math.min(walkCost, scoreCount ?? Infinity) > this.serverSideAbove
        ? await this.intersect(sets, minScore, range, offset, limit)
        : byScore
          ? await this.byScore(minScore!, scoreCount, sets, range, offset, limit)
          : await this.walk(sets[driver], others, minScore, range, offset, limit, knownTotal);
    return { total: knownTotal ?? total, entries: await this.entries(ids) };
  }

  async olderThan(time: number, limit: number): Promise<string[]> {
    return this.client.zrange(this.keys.quarantineByTime, '-inf', `(${time}`, 'BYSCORE', 'LIMIT', 0, limit);
  }

  async claim(id: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(this.keys.quarantineClaim(id), holder, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unclaim(id: string, holder: string): Promise<void> {
    await unclaimScript.run(this.client, [this.keys.quarantineClaim(id)], [holder]);
  }

  /**
   * Puts every entry into the sender, recipient, symbol and score indexes, once: entries written before
   * those indexes existed would otherwise be missing from filtered lists. Safe to run concurrently.
   */
  async reindex(): Promise<number> {
    if (await this.client.exists(this.keys.quarantineIndexed)) return 0;
    let done = 0;
    for (let start = 0; ; start += CHUNK_MAX) {
      const ids = await this.client.zrange(this.keys.quarantineByTime, String(start), String(start + CHUNK_MAX - 1));
      if (!ids.length) break;
      const values = await this.client.mget(...ids.map((id) => this.keys.quarantineEntry(id)));
      // Each written again over itself; one changed or removed meanwhile has been indexed by that change.
      const written = await Promise.all(ids.map((id, i) => (values[i] !== null ? this.write(id, values[i]!, values[i]) : 0)));
      done += written.filter((r) => r === 1).length;
      if (ids.length < CHUNK_MAX) break;
    }
    await this.client.set(this.keys.quarantineIndexed, '1');
    return done;
  }

  /** Runs the add script: 1 when written, -1 when the stored entry is not `previous`. */
  private async write(id: string, json: string, previous: string | null): Promise<number> {
    const entry = JSON.parse(json) as QuarantineEntry;
    const oldKeys = this.valueKeys(previous);
    const keys = [this.keys.quarantineEntry(id), this.keys.quarantineByTime, this.keys.quarantineByScore, ...oldKeys, ...this.valueKeys(json)];
    return Number(await addScript.run(this.client, keys, [id, entry.time, scoreArg(entry.score), json, previous ?? '', oldKeys.length]));
  }

  /** The sender, recipient and symbol index keys of an entry (as JSON), each once. */
  private valueKeys(json: string | null): string[] {
    if (json === null) return [];
    const e = JSON.parse(json) as QuarantineEntry;
    return [
      ...new Set([
        this.keys.quarantineBySender(e.mailFrom),
        ...e.rcptTo.map((r) => this.keys.quarantineByRecipient(r)),
        ...e.symbols.map((s) => this.keys.quarantineBySymbol(s.name)),
      ]),
    ];
  }

  /**
   * Walks `driver` newest first, keeping the ids that are also in every one of `others` and score at
   * least `minScore`; counts them all unless the total is already known.
   */
  private async walk(
    driver: string,
    others: string[],
    minScore: number | undefined,
    range: TimeRange,
    offset: number,
    limit: number,
    knownTotal: number | undefined,
  ): Promise<{ total: number; ids: string[] }> {
    const page: string[] = [];
    let matched = 0;
    let start = 0;
    for (let chunk = CHUNK_MIN; ; chunk = Math.min(chunk * 2, CHUNK_MAX)) {
      const ids = await this.client.zrange(driver, range.max, range.min, 'BYSCORE', 'REV', 'LIMIT', start, chunk);
      start += ids.length;
      const ok = await this.check(ids, others, minScore);
      for (let i = 0; i < ids.length; i++) {
        if (!ok[i]) continue;
        if (matched >= offset && page.length < limit) page.push(ids[i]);
        matched++;
      }
      if (ids.length < chunk || (knownTotal !== undefined && matched >= offset + limit)) break;
    }
    return { total: matched, ids: page };
  }

  /** The intersection of `sets` (and of the scores at least `minScore`) counted and paged by Redis. */
  private async intersect(
    sets: string[],
    minScore: number | undefined,
    range: TimeRange,
    offset: number,
    limit: number,
  ): Promise<{ total: number; ids: string[] }> {
    const scratch = this.keys.quarantineScratch(randomBytes(9).toString('base64url'));
    const [total, ids] = (await intersectScript.run(
      this.client,
      [scratch, this.keys.quarantineByScore, ...sets],
      [minScore !== undefined ? String(minScore) : '', range.min, range.max, offset, limit],
    )) as [number, string[]];
    return { total: Number(total), ids };
  }

  /** For a selective minScore: every id scoring at least that, kept if in range and in every set, by time. */
  private async byScore(
    minScore: number,
    count: number,
    sets: string[],
    range: TimeRange,
    offset: number,
    limit: number,
  ): Promise<{ total: number; ids: string[] }> {
    const candidates: string[] = [];
    for (let start = 0; start < count; start += CHUNK_MAX) {
      const ids = await this.client.zrange(this.keys.quarantineByScore, String(minScore), '+inf', 'BYSCORE', 'LIMIT', start, CHUNK_MAX);
      candidates.push(...ids);
      if (ids.length < CHUNK_MAX) break;
    }
    const matches: { id: string; time: number }[] = [];
    const others = sets.filter((key) => key !== this.keys.quarantineByTime);
    for (let i = 0; i < candidates.length; i += CHUNK_MAX) {
      const ids = candidates.slice(i, i + CHUNK_MAX);
      const [times, ...member] = await this.scores(ids, [this.keys.quarantineByTime, ...others]);
      for (let k = 0; k < ids.length; k++) {
        if (times[k] === null || !member.every((m) => m[k] !== null)) continue;
        const time = Number(times[k]);
        if (time >= range.since && time < range.until) matches.push({ id: ids[k], time });
      }
    }
    // Newest first, ties by id descending: the order ZRANGE REV gives and SQLite's.
    matches.sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return { total: matches.length, ids: matches.slice(offset, offset + limit).map((m) => m.id) };
  }

  /** Whether each id is in every one of `sets` and scores at least `minScore`. */
  private async check(ids: string[], sets: string[], minScore: number | undefined): Promise<boolean[]> {
    if (!sets.length && minScore === undefined) return ids.map(() => true);
    const keys = minScore !== undefined ? [...sets, this.keys.quarantineByScore] : sets;
    const results = await this.scores(ids, keys);
    const scores = minScore !== undefined ? results.pop()! : undefined;
    return ids.map((_, k) => results.every((r) => r[k] !== null) && (scores === undefined || (scores[k] !== null && parseScore(scores[k]!) >= minScore!)));
  }

  /** ZMSCORE of the ids in each sorted set, in one round trip. */
  private async scores(ids: string[], keys: string[]): Promise<(string | null)[][]> {
    if (!ids.length) return keys.map(() => []);
    const pipeline = this.client.pipeline();
    for (const key of keys) pipeline.zmscore(key, ...ids);
    return ((await pipeline.exec()) ?? []).map(([err, values]) => {
      if (err) throw err;
      return values as (string | null)[];
    });
  }

  private async entries(ids: string[]): Promise<QuarantineEntry[]> {
    if (!ids.length) return [];
    const values = await this.client.mget(...ids.map((id) => this.keys.quarantineEntry(id)));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as QuarantineEntry);
  }
}

/** A score as ZADD takes it. */
function scoreArg(score: number): string {
  if (Number.isFinite(score)) return String(score);
  return score > 0 ? '+inf' : '-inf';
}

/** A score as Redis returns it ('inf' and '-inf' included). */
function parseScore(s: string): number {
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}
