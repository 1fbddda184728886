// Shared by the embedded families that read and write state of many gateways: a write transaction,
// and pruning of expired rows at most once per interval.
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** Runs `fn` in a write transaction (BEGIN IMMEDIATE: another process sharing the file waits for it). */
export function writeTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

const PRUNE_EVERY_MS = 600_000;

/** Deletes expired rows (the statement takes `now`) when the last pruning is older than ten minutes. */
export class Pruner {
  private readonly statements: StatementSync[];
  private last = -Infinity;

  constructor(...statements: StatementSync[]) {
    this.statements = statements;
  }

  maybe(now: number): void {
    if (now - this.last < PRUNE_EVERY_MS && now >= this.last) return;
    this.last = now;
    for (const s of this.statements) s.run(now);
  }
}
