// GTUBE: the standard test string operators send to see that filtering works end to end.
import type { Check } from '../scan/types.ts';
import { defineSymbols } from '../scan/symbols.ts';

defineSymbols({
  GTUBE: { weight: 1000, description: 'The GTUBE anti-spam test string is in the message' },
  CONTENT_ERROR: { weight: 0, description: 'A content check failed (the message could not be read)' },
});

const GTUBE = Buffer.from('XJS*C4JDBQADN1.NSBG3-2IC3LJ8AW9N5-9O8EZ');

/** Searches the raw bytes, so the string is found even in a message that does not parse. */
export const gtubeCheck: Check = {
  name: 'gtube',
  family: 'CONTENT',
  stage: 'data',
  async run(ctx) {
    return ctx.message?.raw.includes(GTUBE) ? [{ name: 'GTUBE' }] : [];
  },
};
