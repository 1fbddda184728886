// Quarantine index in Redis: a sorted set of ids by time, and one JSON string per entry.
import type { QuarantineEntry, QuarantineIndex, QuarantineQuery } from '../types.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import { LuaScript } from './script.ts';

const addScript = new LuaScript('quarantine-add');
const removeScript = new LuaScript('quarantine-remove');
/** Entries read per round trip while filtering. */
const PAGE = 500;

export class RedisQuarantineIndex implements QuarantineIndex {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;

  constructor(client: RedisClient, keys: RedisKeys) {
    this.client = client;
    this.keys = keys;
  }

  async add(entry: QuarantineEntry): Promise<void> {
    await addScript.run(this.client, [this.keys.quarantineByTime, this.keys.quarantineEntry(entry.id)], [entry.id, entry.time, JSON.stringify(entry)]);
  }

  async get(id: string): Promise<QuarantineEntry | null> {
    const json = await this.client.get(this.keys.quarantineEntry(id));
    return json ? (JSON.parse(json) as QuarantineEntry) : null;
  }

  async remove(id: string): Promise<boolean> {
    return Number(await removeScript.run(this.client, [this.keys.quarantineByTime, this.keys.quarantineEntry(id)], [id])) > 0;
  }

  async list(q: QuarantineQuery): Promise<{ total: number; entries: QuarantineEntry[] }> {
    const max = q.until !== undefined ? `(${q.until}` : '+inf';
    const min = q.since !== undefined ? String(q.since) : '-inf';
    const offset = q.offset ?? 0;
    const filtered = q.sender !== undefined || q.recipient !== undefined || q.symbol !== undefined || q.minScore !== undefined;
    if (!filtered) {
      // The sorted set answers directly: a count and one page, newest first.
      const total = await this.client.zcount(this.keys.quarantineByTime, min, max);
      const ids = q.limit > 0 ? await this.client.zrange(this.keys.quarantineByTime, max, min, 'BYSCORE', 'REV', 'LIMIT', offset, q.limit) : [];
      return { total, entries: await this.entries(ids) };
    }
    // Filters: walk the time range newest first, counting every match and keeping the requested page.
    const matches = matcher(q);
    const entries: QuarantineEntry[] = [];
    let total = 0;
    for (let start = 0; ; start += PAGE) {
      const ids = await this.client.zrange(this.keys.quarantineByTime, max, min, 'BYSCORE', 'REV', 'LIMIT', start, PAGE);
      for (const entry of await this.entries(ids)) {
        if (!matches(entry)) continue;
        if (total >= offset && entries.length < q.limit) entries.push(entry);
        total++;
      }
      if (ids.length < PAGE) break;
    }
    return { total, entries };
  }

  async olderThan(time: number, limit: number): Promise<string[]> {
    return this.client.zrange(this.keys.quarantineByTime, '-inf', `(${time}`, 'BYSCORE', 'LIMIT', 0, limit);
  }

  private async entries(ids: string[]): Promise<QuarantineEntry[]> {
    if (!ids.length) return [];
    const values = await this.client.mget(...ids.map((id) => this.keys.quarantineEntry(id)));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as QuarantineEntry);
  }
}

function matcher(q: QuarantineQuery): (e: QuarantineEntry) => boolean {
  const sender = q.sender?.toLowerCase();
  const recipient = q.recipient?.toLowerCase();
  return (e) =>
    (sender === undefined || e.mailFrom.toLowerCase() === sender) &&
    (recipient === undefined || e.rcptTo.some((r) => r.toLowerCase() === recipient)) &&
    (q.symbol === undefined || e.symbols.some((s) => s.name === q.symbol)) &&
    (q.minScore === undefined || e.score >= q.minScore);
}
