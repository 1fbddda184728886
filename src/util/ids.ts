import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A transaction id: time-ordered (so ids sort like their messages) and random, in Crockford base32.
 * It is the reference a refused sender quotes and the quarantine id.
 */
export function newId(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 9; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let tail = '';
  for (let i = 0; i < 6; i++) tail += ALPHABET[randomByte() % 32];
  return time + tail;
}

// Random bytes drawn a few thousand at a time: one call into the CSPRNG per id cost more than the id.
const pool = Buffer.alloc(4096);
let poolUsed = pool.length;

function randomByte(): number {
  if (poolUsed === pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  return pool[poolUsed++];
}

/** Ids are used as file names: accept only what newId makes. */
export function isValidId(id: string): boolean {
  return /^[0-9A-Z]{15}$/.test(id);
}
