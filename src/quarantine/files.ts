// Held messages as files on this node: <id>.eml and <id>.json under `quarantine.dir`, each written
// durably (temp file, fsync, rename); the embedded store's quarantine.
import { mkdirSync } from 'node:fs';
import { readFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { QuarantineEntry, QuarantineIndex, QuarantineMessages } from '../store/types.ts';
import { isValidId } from '../util/ids.ts';
import { writeFileDurably } from '../util/durable.ts';

export class QuarantineFiles implements QuarantineMessages {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** The metadata is written too, after the message: `recover` indexes a complete pair again. */
  async put(entry: QuarantineEntry, raw: Buffer): Promise<void> {
    await writeFileDurably(this.path(entry.id, 'eml'), raw);
    await writeFileDurably(this.path(entry.id, 'json'), JSON.stringify(entry));
  }

  async get(id: string): Promise<Buffer | null> {
    try {
      return await readFile(this.path(id, 'eml'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    for (const ext of ['eml', 'json'] as const) {
      await unlink(this.path(id, ext)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
  }

  /** Each file was synced as it was written. */
  async durable(): Promise<void> {}

  /**
   * Repairs what a crash in the middle of a hold can leave: a complete file pair missing from the index is
   * indexed (its sender already heard 250); a message without metadata, or a temp file, is removed (its
   * sender did not hear 250 and retries). Returns how many entries were re-indexed.
   */
  async recover(index: QuarantineIndex): Promise<number> {
    const names = await readdir(this.dir);
    const present = new Set(names);
    let reindexed = 0;
    for (const name of names) {
      const [id, ext] = name.split('.', 2);
      if (name.includes('.tmp-')) {
        await unlink(join(this.dir, name)).catch(() => {});
      } else if (ext === 'json' && isValidId(id) && present.has(`${id}.eml`) && !(await index.get(id))) {
        await index.add(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as QuarantineEntry);
        reindexed++;
      } else if (ext === 'eml' && isValidId(id) && !present.has(`${id}.json`)) {
        await unlink(join(this.dir, name)).catch(() => {});
      }
    }
    return reindexed;
  }

  private path(id: string, ext: 'eml' | 'json'): string {
    return join(this.dir, `${id}.${ext}`);
  }
}
