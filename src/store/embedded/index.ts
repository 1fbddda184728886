// The embedded store: one SQLite file (Node's built-in node:sqlite) under `store.path`, no server needed.
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Store } from '../types.ts';
import { SqliteQuarantineIndex } from './quarantine.ts';
import { SqliteBayesStore } from './bayes.ts';
import { SqliteGreylistStore } from './greylist.ts';
import { SqliteRateLimitStore } from './ratelimit.ts';

export interface EmbeddedStoreOptions {
  /** Bayes tokens seen once and not learned for this many days are pruned. */
  tokenTtlDays?: number;
  /** Most slots of the Bayes read cache (tests make it small). */
  bayesCacheSlots?: number;
}

export class EmbeddedStore implements Store {
  readonly backend = 'embedded' as const;
  readonly db: DatabaseSync;
  readonly quarantine: SqliteQuarantineIndex;
  readonly bayes: SqliteBayesStore;
  readonly greylist: SqliteGreylistStore;
  readonly ratelimit: SqliteRateLimitStore;

  constructor(dir: string, options: EmbeddedStoreOptions = {}) {
    mkdirSync(dir, { recursive: true });
    this.db = new DatabaseSync(join(dir, 'sluice.sqlite'));
    // WAL: readers (the CLI) never block the gateway; NORMAL sync is durable across process crashes.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.quarantine = new SqliteQuarantineIndex(this.db);
    this.bayes = new SqliteBayesStore(this.db, { tokenTtlDays: options.tokenTtlDays ?? 30, cacheSlots: options.bayesCacheSlots });
    this.greylist = new SqliteGreylistStore(this.db);
    this.ratelimit = new SqliteRateLimitStore(this.db);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async probe(): Promise<void> {
    const key = randomUUID();
    this.db.exec('CREATE TABLE IF NOT EXISTS probe (key TEXT PRIMARY KEY, time INTEGER NOT NULL) WITHOUT ROWID');
    this.db.prepare('INSERT INTO probe (key, time) VALUES (?, ?)').run(key, Date.now());
    const found = this.db.prepare('SELECT key FROM probe WHERE key = ?').get(key);
    this.db.prepare('DELETE FROM probe WHERE key = ?').run(key);
    if (!found) throw new Error('a probe row written was not read back');
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}
