// The Bayes check: what the learned token counts say about the message's text and headers.
import type { Check } from '../scan/types.ts';
import type { BayesStore } from '../store/types.ts';
import { defineSymbols } from '../scan/symbols.ts';
import { bayesHits, classifyMessage, type BayesSettings } from '../bayes/index.ts';

defineSymbols({
  BAYES_SPAM: { weight: 5.0, description: 'Bayes: the message reads like learned spam (factor grows with certainty: 1 at odds of 10^12 to 1, up to 1.5)' },
  BAYES_HAM: { weight: -3.0, description: 'Bayes: the message reads like learned ham (factor grows with certainty, up to 1)' },
  BAYES_ERROR: { weight: 0, description: 'Bayes could not classify (store unreachable or message unreadable)' },
});

export function bayesCheck(store: BayesStore, settings: BayesSettings): Check {
  return {
    name: 'bayes',
    family: 'BAYES',
    stage: 'data',
    async run(ctx) {
      if (!ctx.message) throw new Error('no message');
      return bayesHits(await classifyMessage(store, ctx.message, settings), settings);
    },
  };
}
