// All shared state goes through this interface, so the embedded and the Redis store are interchangeable.
import type { Action } from '../scan/types.ts';

export interface QuarantineEntry {
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  clientIp: string;
  helo: string;
  mailFrom: string;
  rcptTo: string[];
  subject: string;
  size: number;
  score: number;
  action: Action;
  symbols: { name: string; score: number }[];
}

export interface QuarantineQuery {
  limit: number;
  offset?: number;
  /** Entries at or after / before these times (ms). */
  since?: number;
  until?: number;
  sender?: string;
  recipient?: string;
  symbol?: string;
  minScore?: number;
}

export interface QuarantineIndex {
  add(entry: QuarantineEntry): Promise<void>;
  get(id: string): Promise<QuarantineEntry | null>;
  remove(id: string): Promise<boolean>;
  /** Newest first. */
  list(query: QuarantineQuery): Promise<{ total: number; entries: QuarantineEntry[] }>;
  /** Ids of entries older than `time` (ms), oldest first, at most `limit`. */
  olderThan(time: number, limit: number): Promise<string[]>;
}

export interface Store {
  readonly backend: 'embedded' | 'redis';
  quarantine: QuarantineIndex;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
