// Greylisting in Redis: a hash per triplet and one per client, updated together by one Lua script, every
// key with a TTL (the window while a triplet waits for its retry, the expiry once it passed).
import type { GreylistEntry, GreylistPolicy, GreylistSighting, GreylistState, GreylistStore, GreylistTriplet } from '../types.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import { LuaScript } from './script.ts';

const sightScript = new LuaScript('greylist-sight');

export class RedisGreylistStore implements GreylistStore {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;

  constructor(client: RedisClient, keys: RedisKeys) {
    this.client = client;
    this.keys = keys;
  }

  async sight(t: GreylistTriplet, now: number, p: GreylistPolicy): Promise<GreylistSighting> {
    const keys = [this.keys.greylistTriplet(t.client, t.sender, t.recipient), this.keys.greylistClient(t.client)];
    const args = [now, p.delayMs, p.windowMs, p.expiryMs, p.autoWhitelistAfter, t.client, t.sender, t.recipient];
    const [state, firstSeen, awl] = (await sightScript.run(this.client, keys, args)) as [GreylistState, number, number];
    return awl ? { state, firstSeen: Number(firstSeen), autoWhitelisted: true } : { state, firstSeen: Number(firstSeen) };
  }

  async list(now: number, limit: number): Promise<GreylistEntry[]> {
    const entries: GreylistEntry[] = [];
    for (const pattern of [this.keys.greylistClientPattern, this.keys.greylistTripletPattern]) {
      for (const key of await this.scan(pattern, Infinity)) {
        if (entries.length >= limit) return entries;
        const hash = await this.client.hgetall(key);
        const expires = Number(hash.expires ?? 0);
        if (expires <= now) continue;
        if (pattern === this.keys.greylistClientPattern) {
          entries.push({ client: key.slice(this.keys.greylistClient('').length), passes: Number(hash.passes ?? 0), whitelisted: hash.whitelisted === '1', expires });
        } else {
          entries.push({
            client: hash.client, sender: hash.sender, recipient: hash.recipient, firstSeen: Number(hash.first),
            ...(hash.passed ? { passedAt: Number(hash.passed) } : {}), expires,
          });
        }
      }
    }
    return entries;
  }

  async allow(client: string, now: number, expiryMs: number): Promise<void> {
    const key = this.keys.greylistClient(client);
    await this.client.multi().hsetnx(key, 'passes', 0).hset(key, 'whitelisted', '1', 'expires', now + expiryMs).pexpire(key, expiryMs).exec();
  }

  async drop(client: string): Promise<number> {
    const keys = [this.keys.greylistClient(client), ...(await this.scan(this.keys.greylistTripletsOf(client), Infinity))];
    return this.client.del(...keys);
  }

  /** Keys matching `pattern`, at most `limit`. */
  private async scan(pattern: string, limit: number): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0' && found.length < limit);
    return found.slice(0, limit);
  }
}
