// GTUBE: the standard test string operators send to see that filtering works end to end.
import type { Check } from '../scan/types.ts';
import { defineSymbols } from '../scan/symbols.ts';

defineSymbols({
  GTUBE: { weight: 1000, description: 'The GTUBE anti-spam test string is in the message' },
});

const GTUBE = 'XJS*C4JDBQADN1.NSBG3-2IC3LJ8AW9N5-9O8EZ*C.34X';
const GTUBE_BYTES = Buffer.from(GTUBE);

/** Looks in the raw bytes (so a message that does not parse is still caught) and in the decoded text. */
export const gtubeCheck: Check = {
  name: 'gtube',
  family: 'GTUBE',
  stage: 'data',
  async run(ctx) {
    const m = ctx.message;
    if (!m) return [];
    const found = m.raw.includes(GTUBE_BYTES) || (m.parsed?.text ?? '').includes(GTUBE) || String(m.parsed?.html || '').includes(GTUBE);
    return found ? [{ name: 'GTUBE' }] : [];
  },
};
