// The quarantine folder takes a durable write, on a filesystem with room for messages (embedded store).
import { mkdir, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { writeFileDurably } from '../util/durable.ts';
import { fail, ok, reasonOf, warn, type CheckResult, type Status } from './result.ts';

/** Less free space than this is worth a warning: a spam wave quarantines thousands of messages. */
export const LOW_SPACE_BYTES = 1024 ** 3;

export async function quarantineCheck(config: Readonly<Config>): Promise<CheckResult> {
  // The store check has written to Redis already; the folder only keeps what was held there before.
  if (config.store.backend === 'redis') return ok('quarantine', 'held messages are kept in Redis with the store, where every node reaches them');
  const dir = config.quarantine.dir;
  const unwritable = (reason: string) =>
    fail('quarantine', `${dir}: ${reason}`, "point quarantine.dir at a folder the gateway's user can create and write");
  let space;
  try {
    // As the gateway does at start.
    await mkdir(dir, { recursive: true });
    // Written as a held message is (temp file, fsync, rename); `.tmp-` in the name: a crash leaves nothing `recover` keeps.
    const probe = join(dir, `.doctor-probe.tmp-${process.pid}`);
    await writeFileDurably(probe, 'probe\n');
    await unlink(probe);
    space = await statfs(dir);
  } catch (err) {
    return unwritable(`cannot write: ${reasonOf(err)}`);
  }
  const free = space.bavail * space.bsize;
  const status = spaceStatus(free, config.smtp.maxSize);
  const detail = `${dir}: writable, ${bytes(free)} free of ${bytes(space.blocks * space.bsize)}`;
  if (status === 'fail') return fail('quarantine', `${detail}: not room for one message of smtp.maxSize`, 'free space on that filesystem or move quarantine.dir to a larger one');
  if (status === 'warn') return warn('quarantine', `${detail}, under ${bytes(LOW_SPACE_BYTES)}`, 'free space on that filesystem or move quarantine.dir to a larger one before a spam wave fills it');
  return ok('quarantine', detail);
}

/** Full: not even one message of the largest size fits; low: under LOW_SPACE_BYTES. */
export function spaceStatus(freeBytes: number, maxMessageBytes: number): Status {
  if (freeBytes < maxMessageBytes) return 'fail';
  return freeBytes < LOW_SPACE_BYTES ? 'warn' : 'ok';
}

function bytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  return `${Math.floor(n / 1024 ** 2)} MiB`;
}
