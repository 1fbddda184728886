// The quarantine: each held message is a file pair under `quarantine.dir` (<id>.eml, <id>.json),
// written durably before the sender hears 250; the store indexes them for listing and search.
import { mkdirSync } from 'node:fs';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { QuarantineEntry, QuarantineIndex, QuarantineQuery } from '../store/types.ts';
import { isValidId } from '../util/ids.ts';
import { writeFileDurably } from '../util/durable.ts';

export interface HeldMessage {
  entry: QuarantineEntry;
  raw: Buffer;
}

export class Quarantine {
  readonly dir: string;
  private readonly index: QuarantineIndex;
  private readonly retentionMs: number;
  private readonly log: Logger;

  constructor(dir: string, retentionDays: number, index: QuarantineIndex, log: Logger) {
    this.dir = dir;
    this.index = index;
    this.retentionMs = retentionDays * 86_400_000;
    this.log = log;
    mkdirSync(dir, { recursive: true });
  }

  /** Returns once message and metadata are on disk and indexed. */
  async hold(entry: QuarantineEntry, raw: Buffer): Promise<void> {
    if (!isValidId(entry.id)) throw new Error(`invalid quarantine id ${entry.id}`);
    await writeFileDurably(this.path(entry.id, 'eml'), raw);
    await writeFileDurably(this.path(entry.id, 'json'), JSON.stringify(entry));
    await this.index.add(entry);
  }

  list(query: QuarantineQuery): Promise<{ total: number; entries: QuarantineEntry[] }> {
    return this.index.list(query);
  }

  async get(id: string): Promise<HeldMessage | null> {
    if (!isValidId(id)) return null;
    const entry = await this.index.get(id);
    if (!entry) return null;
    try {
      return { entry, raw: await readFile(this.path(id, 'eml')) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  /** Removes a held message; false when there was none. */
  async delete(id: string): Promise<boolean> {
    if (!isValidId(id)) return false;
    const existed = await this.index.remove(id);
    for (const ext of ['eml', 'json'] as const) {
      await unlink(this.path(id, ext)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
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
   * Repairs what a crash in the middle of `hold` can leave: a complete file pair missing from the index is
   * indexed (its sender already heard 250); a message without metadata, or a temp file, is removed (its
   * sender did not hear 250 and retries). Returns how many entries were re-indexed.
   */
  async recover(): Promise<number> {
    const names = await readdir(this.dir);
    const present = new Set(names);
    let reindexed = 0;
    for (const name of names) {
      const [id, ext] = name.split('.', 2);
      if (name.includes('.tmp-')) {
        await unlink(join(this.dir, name)).catch(() => {});
      } else if (ext === 'json' && isValidId(id) && present.has(`${id}.eml`) && !(await this.index.get(id))) {
        await this.index.add(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as QuarantineEntry);
        reindexed++;
      } else if (ext === 'eml' && isValidId(id) && !present.has(`${id}.json`)) {
        await unlink(join(this.dir, name)).catch(() => {});
      }
    }
    if (reindexed) this.log.warn({ reindexed }, 'quarantine entries missing from the index were re-indexed');
    return reindexed;
  }

  private path(id: string, ext: 'eml' | 'json'): string {
    return join(this.dir, `${id}.${ext}`);
  }
}
