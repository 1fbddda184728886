// Quarantine index in SQLite: metadata only (the message itself is a file), indexed for newest-first paging.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { QuarantineEntry, QuarantineIndex, QuarantineQuery } from '../types.ts';

export class SqliteQuarantineIndex implements QuarantineIndex {
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly byId: StatementSync;
  private readonly del: StatementSync;
  private readonly old: StatementSync;

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS quarantine (
        id TEXT PRIMARY KEY,
        time INTEGER NOT NULL,
        mail_from TEXT NOT NULL,
        rcpt TEXT NOT NULL,
        symbols TEXT NOT NULL,
        score REAL NOT NULL,
        entry TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS quarantine_time ON quarantine (time);
      CREATE INDEX IF NOT EXISTS quarantine_sender ON quarantine (mail_from, time);
      -- Holds every column a list filters or sorts on but not the entry JSON: counting a filter and
      -- skipping to a deep offset then read this index alone, not the rows.
      CREATE INDEX IF NOT EXISTS quarantine_list ON quarantine (time, id, score, mail_from, rcpt, symbols);
      -- Who is releasing an entry, until when: the gateway, the CLI and the admin API may be asked at once.
      CREATE TABLE IF NOT EXISTS quarantine_claims (id TEXT PRIMARY KEY, holder TEXT NOT NULL, until INTEGER NOT NULL) WITHOUT ROWID;
    `);
    this.insert = db.prepare(
      'INSERT OR REPLACE INTO quarantine (id, time, mail_from, rcpt, symbols, score, entry) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.byId = db.prepare('SELECT entry FROM quarantine WHERE id = ?');
    this.del = db.prepare('DELETE FROM quarantine WHERE id = ?');
    this.old = db.prepare('SELECT id FROM quarantine WHERE time < ? ORDER BY time LIMIT ?');
  }

  async add(e: QuarantineEntry): Promise<void> {
    // rcpt and symbols are stored delimited by spaces on both sides so that a filter matches whole names.
    this.insert.run(
      e.id,
      e.time,
      e.mailFrom.toLowerCase(),
      ` ${e.rcptTo.map((r) => r.toLowerCase()).join(' ')} `,
      ` ${e.symbols.map((s) => s.name).join(' ')} `,
      e.score,
      JSON.stringify(e),
    );
  }

  async get(id: string): Promise<QuarantineEntry | null> {
    const row = this.byId.get(id) as { entry: string } | undefined;
    return row ? (JSON.parse(row.entry) as QuarantineEntry) : null;
  }

  async remove(id: string): Promise<boolean> {
    return Number(this.del.run(id).changes) > 0;
  }

  async list(q: QuarantineQuery): Promise<{ total: number; entries: QuarantineEntry[] }> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.since !== undefined) { where.push('time >= ?'); args.push(q.since); }
    if (q.until !== undefined) { where.push('time < ?'); args.push(q.until); }
    if (q.sender) { where.push('mail_from = ?'); args.push(q.sender.toLowerCase()); }
    if (q.recipient) { where.push('instr(rcpt, ?) > 0'); args.push(` ${q.recipient.toLowerCase()} `); }
    if (q.symbol) { where.push('instr(symbols, ?) > 0'); args.push(` ${q.symbol} `); }
    if (q.minScore !== undefined) { where.push('score >= ?'); args.push(q.minScore); }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number((this.db.prepare(`SELECT count(*) AS n FROM quarantine ${clause}`).get(...args) as { n: number }).n);
    // The page's rows are found first, by rowid from the index; only those rows' entries are read.
    const rows = this.db
      .prepare(
        `SELECT entry FROM quarantine WHERE rowid IN (SELECT rowid FROM quarantine ${clause} ORDER BY time DESC, id DESC LIMIT ? OFFSET ?) ORDER BY time DESC, id DESC`,
      )
      .all(...args, q.limit, q.offset ?? 0) as { entry: string }[];
    return { total, entries: rows.map((r) => JSON.parse(r.entry) as QuarantineEntry) };
  }

  async olderThan(time: number, limit: number): Promise<string[]> {
    return (this.old.all(time, limit) as { id: string }[]).map((r) => r.id);
  }

  async claim(id: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    // Expired claims go first (the table stays a handful of rows); a live one makes the insert a no-op.
    this.db.prepare('DELETE FROM quarantine_claims WHERE until <= ?').run(now);
    return Number(this.db.prepare('INSERT OR IGNORE INTO quarantine_claims (id, holder, until) VALUES (?, ?, ?)').run(id, holder, now + ttlMs).changes) > 0;
  }

  async unclaim(id: string, holder: string): Promise<void> {
    this.db.prepare('DELETE FROM quarantine_claims WHERE id = ? AND holder = ?').run(id, holder);
  }
}
