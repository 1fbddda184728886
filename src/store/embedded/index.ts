// The embedded store: one SQLite file (Node's built-in node:sqlite) under `store.path`, no server needed.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Store } from '../types.ts';
import { SqliteQuarantineIndex } from './quarantine.ts';

export class EmbeddedStore implements Store {
  readonly backend = 'embedded' as const;
  readonly db: DatabaseSync;
  readonly quarantine: SqliteQuarantineIndex;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new DatabaseSync(join(dir, 'sluice.sqlite'));
    // WAL: readers (the CLI) never block the gateway; NORMAL sync is durable across process crashes.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
    this.quarantine = new SqliteQuarantineIndex(this.db);
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}
