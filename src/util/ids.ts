import { randomBytes } from 'node:crypto';

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
  const rand = randomBytes(6);
  let tail = '';
  for (const b of rand) tail += ALPHABET[b % 32];
  return time + tail;
}

/** Ids are used as file names: accept only what newId makes. */
export function isValidId(id: string): boolean {
  return /^[0-9A-Z]{15}$/.test(id);
}
