// Rate-limit buckets in Redis: one string per bucket, counted by one Lua script so that every gateway
// sharing the Redis counts against the same allowance; each key expires once its bucket is full again.
import type { RateLimitOutcome, RateLimitRule, RateLimitStore } from '../types.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import { LuaScript } from './script.ts';

const takeScript = new LuaScript('ratelimit-take');

export class RedisRateLimitStore implements RateLimitStore {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;

  constructor(client: RedisClient, keys: RedisKeys) {
    this.client = client;
    this.keys = keys;
  }

  async take(bucket: string, now: number, rule: RateLimitRule): Promise<RateLimitOutcome> {
    const [allowed, remaining, retryAfterMs] = (await takeScript.run(this.client, [this.keys.rateLimitBucket(bucket)], [now, rule.intervalMs, rule.burst])) as number[];
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }

  async peek(bucket: string, now: number): Promise<number> {
    const used = await this.client.get(this.keys.rateLimitBucket(bucket));
    return used === null ? 0 : Math.max(0, Number(used) - now);
  }

  async reset(bucket: string): Promise<boolean> {
    return (await this.client.del(this.keys.rateLimitBucket(bucket))) > 0;
  }
}
