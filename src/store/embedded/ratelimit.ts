// Rate-limit buckets in SQLite: one row per bucket, updated in a write transaction so that gateways
// sharing the file count together; rows whose allowance is full again are pruned.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { RateLimitOutcome, RateLimitRule, RateLimitStore } from '../types.ts';
import { gcra } from '../ratelimit.ts';
import { Pruner, writeTransaction } from './transaction.ts';

export class SqliteRateLimitStore implements RateLimitStore {
  private readonly db: DatabaseSync;
  private readonly read: StatementSync;
  private readonly write: StatementSync;
  private readonly del: StatementSync;
  private readonly pruner: Pruner;

  constructor(db: DatabaseSync) {
    this.db = db;
    // used_up_to: the bucket is full again from then on, so the row can go.
    db.exec('CREATE TABLE IF NOT EXISTS ratelimit (bucket TEXT PRIMARY KEY, used_up_to INTEGER NOT NULL) WITHOUT ROWID');
    this.read = db.prepare('SELECT used_up_to FROM ratelimit WHERE bucket = ?');
    this.write = db.prepare('INSERT OR REPLACE INTO ratelimit (bucket, used_up_to) VALUES (?, ?)');
    this.del = db.prepare('DELETE FROM ratelimit WHERE bucket = ?');
    this.pruner = new Pruner(db.prepare('DELETE FROM ratelimit WHERE used_up_to <= ?'));
  }

  async take(bucket: string, now: number, rule: RateLimitRule): Promise<RateLimitOutcome> {
    return writeTransaction(this.db, () => {
      this.pruner.maybe(now);
      const row = this.read.get(bucket) as { used_up_to: number } | undefined;
      const step = gcra(row ? row.used_up_to : null, now, rule);
      if (step.usedUpTo !== null) this.write.run(bucket, step.usedUpTo);
      return step.outcome;
    });
  }

  async peek(bucket: string, now: number): Promise<number> {
    const row = this.read.get(bucket) as { used_up_to: number } | undefined;
    return row ? Math.max(0, row.used_up_to - now) : 0;
  }

  async reset(bucket: string): Promise<boolean> {
    return Number(this.del.run(bucket).changes) > 0;
  }
}
