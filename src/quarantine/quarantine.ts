// The quarantine: held messages, written durably before the sender hears 250, indexed by the store for
// listing and search. Their bytes are files on this node (embedded store) or in Redis beside the index,
// where every node shows, releases and deletes what any node held.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import type { QuarantineEntry, QuarantineIndex, QuarantineMessages, QuarantineQuery } from '../store/types.ts';
import { isValidId } from '../util/ids.ts';
import { QuarantineFiles } from './files.ts';

export interface HeldMessage {
  entry: QuarantineEntry;
  raw: Buffer;
}

/** Another release of the message has the claim, here or on another node. */
export class AlreadyReleasedError extends Error {
  constructor(id: string) {
    super(`${id} is already released (or being released)`);
  }
}

/** How long a release holds its claim: far longer than a relay may take; then another node may try. */
const CLAIM_MS = 10 * 60_000;
/** Redis keeps a held message this much past the retention, so that the hourly purge removes it whole. */
const EXPIRY_GRACE_MS = 2 * 3_600_000;

export class Quarantine {
  readonly dir: string;
  /** Whether every node using the store reaches the held messages (Redis), or only this one (files). */
  readonly shared: boolean;
  private readonly index: QuarantineIndex;
  private readonly messages: QuarantineMessages;
  /** With the store keeping the bytes: files this node held before it did, still shown, released and purged. */
  private readonly earlier?: QuarantineFiles;
  private readonly retentionMs: number;
  private readonly log: Logger;

  constructor(dir: string, retentionDays: number, index: QuarantineIndex, log: Logger, messages?: QuarantineMessages) {
    this.dir = dir;
    this.index = index;
    this.shared = Boolean(messages);
    this.messages = messages ?? new QuarantineFiles(dir);
    if (messages && existsSync(dir)) this.earlier = new QuarantineFiles(dir);
    this.retentionMs = retentionDays * 86_400_000;
    this.log = log;
  }

  /** Returns once message and metadata are stored durably and indexed; a failure leaves nothing held. */
  async hold(entry: QuarantineEntry, raw: Buffer): Promise<void> {
    if (!isValidId(entry.id)) throw new Error(`invalid quarantine id ${entry.id}`);
    await this.messages.put(entry, raw, this.retentionMs + EXPIRY_GRACE_MS);
    await this.index.add(entry);
    try {
      await this.messages.durable(entry.id);
    } catch (err) {
      // The sender hears 451 and sends again; this copy must not stay as a second one.
      await this.delete(entry.id).catch(() => {});
      throw err;
    }
  }

  list(query: QuarantineQuery): Promise<{ total: number; entries: QuarantineEntry[] }> {
    return this.index.list(query);
  }

  async get(id: string): Promise<HeldMessage | null> {
    if (!isValidId(id)) return null;
    const entry = await this.index.get(id);
    if (!entry) return null;
    const raw = (await this.messages.get(id)) ?? (await this.earlier?.get(id));
    return raw ? { entry, raw } : null;
  }

  /**
   * Takes the right to release a held message, once among every node of the store; throws
   * AlreadyReleasedError when another has it. `giveBack` after a failed release lets it be tried again;
   * after a release the claim stays until it expires, so a late second request hears "already released".
   */
  async claim(id: string): Promise<{ giveBack(): Promise<void> }> {
    const holder = randomUUID();
    if (!(await this.index.claim(id, holder, CLAIM_MS))) throw new AlreadyReleasedError(id);
    return { giveBack: () => this.index.unclaim(id, holder) };
  }

  /**
   * An operator's delete: refused (AlreadyReleasedError) while a release of the message is under way on
   * any node, which would deliver what the operator meant to throw away.
   */
  async discard(id: string): Promise<boolean> {
    const claim = await this.claim(id);
    try {
      return await this.delete(id);
    } finally {
      await claim.giveBack();
    }
  }

  /** Removes a held message; false when there was none. */
  async delete(id: string): Promise<boolean> {
    if (!isValidId(id)) return false;
    const existed = await this.index.remove(id);
    await this.messages.remove(id);
    await this.earlier?.remove(id);
    return existed;
  }

  /** Deletes entries older than the retention period; returns how many went. */
  async purge(now = Date.now()): Promise<number> {
    let purged = 0;
    for (;;) {
      const ids = await this.index.olderThan(now - this.retentionMs, 500);
      if (!ids.length) break;
      for (const id of ids) {
        await this.delete(id);
        purged++;
      }
    }
    if (purged) this.log.info({ purged }, 'quarantine purged expired messages');
    return purged;
  }

  /**
   * Files on this node: repairs what a crash in the middle of `hold` left (see QuarantineFiles.recover).
   * In Redis there is nothing to repair: a message written but never indexed expires by itself.
   */
  async recover(): Promise<number> {
    if (!(this.messages instanceof QuarantineFiles)) return 0;
    const reindexed = await this.messages.recover(this.index);
    if (reindexed) this.log.warn({ reindexed }, 'quarantine entries missing from the index were re-indexed');
    return reindexed;
  }
}
