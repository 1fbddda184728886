// Greylisting in SQLite: a row per triplet and one per client (its passes, whether it is whitelisted).
// A sighting reads and writes both in one write transaction; expired rows count as absent and are pruned.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { GreylistEntry, GreylistPolicy, GreylistSighting, GreylistStore, GreylistTriplet } from '../types.ts';
import { Pruner, writeTransaction } from './transaction.ts';

interface TripletRow { first_seen: number; passed_at: number | null; expires: number }
interface ClientRow { passes: number; whitelisted: number; expires: number }

export class SqliteGreylistStore implements GreylistStore {
  private readonly db: DatabaseSync;
  private readonly triplet: StatementSync;
  private readonly putTriplet: StatementSync;
  private readonly client: StatementSync;
  private readonly putClient: StatementSync;
  private readonly clients: StatementSync;
  private readonly triplets: StatementSync;
  private readonly dropClient: StatementSync;
  private readonly dropTriplets: StatementSync;
  private readonly pruner: Pruner;

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(`
      CREATE TABLE IF NOT EXISTS greylist_triplet (
        client TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
        first_seen INTEGER NOT NULL, passed_at INTEGER, expires INTEGER NOT NULL,
        PRIMARY KEY (client, sender, recipient)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS greylist_triplet_expires ON greylist_triplet (expires);
      CREATE TABLE IF NOT EXISTS greylist_client (
        client TEXT PRIMARY KEY, passes INTEGER NOT NULL, whitelisted INTEGER NOT NULL, expires INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
    this.triplet = db.prepare('SELECT first_seen, passed_at, expires FROM greylist_triplet WHERE client = ? AND sender = ? AND recipient = ? AND expires > ?');
    this.putTriplet = db.prepare('INSERT OR REPLACE INTO greylist_triplet (client, sender, recipient, first_seen, passed_at, expires) VALUES (?, ?, ?, ?, ?, ?)');
    this.client = db.prepare('SELECT passes, whitelisted, expires FROM greylist_client WHERE client = ? AND expires > ?');
    this.putClient = db.prepare('INSERT OR REPLACE INTO greylist_client (client, passes, whitelisted, expires) VALUES (?, ?, ?, ?)');
    this.clients = db.prepare('SELECT client, passes, whitelisted, expires FROM greylist_client WHERE expires > ? ORDER BY client LIMIT ?');
    this.triplets = db.prepare('SELECT client, sender, recipient, first_seen, passed_at, expires FROM greylist_triplet WHERE expires > ? ORDER BY first_seen DESC LIMIT ?');
    this.dropClient = db.prepare('DELETE FROM greylist_client WHERE client = ?');
    this.dropTriplets = db.prepare('DELETE FROM greylist_triplet WHERE client = ?');
    this.pruner = new Pruner(
      db.prepare('DELETE FROM greylist_triplet WHERE expires <= ?'),
      db.prepare('DELETE FROM greylist_client WHERE expires <= ?'),
    );
  }

  async sight(t: GreylistTriplet, now: number, p: GreylistPolicy): Promise<GreylistSighting> {
    return writeTransaction(this.db, () => {
      this.pruner.maybe(now);
      const client = this.client.get(t.client, now) as ClientRow | undefined;
      if (client?.whitelisted) {
        this.putClient.run(t.client, client.passes, 1, now + p.expiryMs);
        return { state: 'whitelisted', firstSeen: 0 };
      }
      const row = this.triplet.get(t.client, t.sender, t.recipient, now) as TripletRow | undefined;
      if (row && row.passed_at !== null) {
        this.putTriplet.run(t.client, t.sender, t.recipient, row.first_seen, row.passed_at, now + p.expiryMs);
        return { state: 'known', firstSeen: row.first_seen };
      }
      if (!row || now - row.first_seen > p.windowMs) {
        this.putTriplet.run(t.client, t.sender, t.recipient, now, null, now + p.windowMs);
        return { state: 'new', firstSeen: now };
      }
      if (now - row.first_seen < p.delayMs) return { state: 'early', firstSeen: row.first_seen };
      this.putTriplet.run(t.client, t.sender, t.recipient, row.first_seen, now, now + p.expiryMs);
      const passes = (client?.passes ?? 0) + 1;
      const whitelisted = p.autoWhitelistAfter > 0 && passes >= p.autoWhitelistAfter;
      this.putClient.run(t.client, passes, whitelisted ? 1 : 0, now + p.expiryMs);
      return whitelisted ? { state: 'passed', firstSeen: row.first_seen, autoWhitelisted: true } : { state: 'passed', firstSeen: row.first_seen };
    });
  }

  async list(now: number, limit: number): Promise<GreylistEntry[]> {
    const clients = (this.clients.all(now, limit) as unknown as (ClientRow & { client: string })[]).map((r): GreylistEntry => ({
      client: r.client, passes: r.passes, whitelisted: r.whitelisted === 1, expires: r.expires,
    }));
    const rows = this.triplets.all(now, Math.max(0, limit - clients.length)) as unknown as (TripletRow & GreylistTriplet)[];
    return [...clients, ...rows.map((r): GreylistEntry => ({
      client: r.client, sender: r.sender, recipient: r.recipient, firstSeen: r.first_seen,
      ...(r.passed_at !== null ? { passedAt: r.passed_at } : {}), expires: r.expires,
    }))];
  }

  async allow(client: string, now: number, expiryMs: number): Promise<void> {
    writeTransaction(this.db, () => {
      const row = this.client.get(client, now) as ClientRow | undefined;
      this.putClient.run(client, row?.passes ?? 0, 1, now + expiryMs);
    });
  }

  async drop(client: string): Promise<number> {
    return writeTransaction(this.db, () => Number(this.dropClient.run(client).changes) + Number(this.dropTriplets.run(client).changes));
  }
}
