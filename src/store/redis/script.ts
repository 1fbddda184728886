// A Lua script kept in a .lua file, run by SHA with a fallback to sending its text once.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RedisClient } from './connect.ts';

export class LuaScript {
  readonly name: string;
  private readonly source: string;
  private readonly sha: string;

  constructor(name: string) {
    this.name = name;
    this.source = readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
    this.sha = createHash('sha1').update(this.source).digest('hex');
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOSCRIPT')) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
