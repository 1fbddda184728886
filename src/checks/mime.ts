// A message whose MIME structure the parser refuses: over 1,000 parts, or a part header over 1 MiB.
// No mail client writes that; a sender who does hides the body from every content check (Bayes,
// the URI lists), so the refusal itself is evidence.
import type { Check } from '../scan/types.ts';
import { defineSymbols } from '../scan/symbols.ts';

defineSymbols({
  MIME_UNPARSABLE: { weight: 3.0, description: 'The MIME structure could not be read (e.g. over 1,000 parts): the content checks could not judge the body' },
});

export const mimeCheck: Check = {
  name: 'mime',
  family: 'MIME',
  stage: 'data',
  async run(ctx) {
    const m = ctx.message;
    return m && m.parsed === null ? [{ name: 'MIME_UNPARSABLE', detail: m.parseError }] : [];
  },
};
