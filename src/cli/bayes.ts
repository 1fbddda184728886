// `sluice bayes stats|prune`: what the Bayes store holds, and pruning of stale tokens.
import type { Command } from './main.ts';
import { configOption, loadConfigOrReport } from './common.ts';
import { openStore } from '../store/index.ts';

export const bayesCommand: Command = {
  summary: 'Bayes store: stats (learned counts, tokens, size) or prune (drop stale tokens)',
  usage: 'sluice bayes stats|prune [-c FILE] [--json]',
  options: {
    ...configOption,
    json: { type: 'boolean', default: false },
  },
  async run(values, [action]) {
    if (action !== 'stats' && action !== 'prune') {
      process.stderr.write(`usage: ${this.usage}\n`);
      return 2;
    }
    const config = loadConfigOrReport(values.config as string);
    if (!config) return 1;
    const store = await openStore(config.store, { tokenTtlDays: config.bayes.tokenTtlDays });
    try {
      if (action === 'prune') {
        const removed = await store.bayes.prune(Date.now() - config.bayes.tokenTtlDays * 86_400_000);
        process.stdout.write(values.json ? JSON.stringify({ removed }) + '\n' : `${removed} tokens removed\n`);
        return 0;
      }
      const stats = await store.bayes.stats();
      if (values.json) {
        process.stdout.write(JSON.stringify({ backend: store.backend, ...stats }) + '\n');
      } else {
        const ready = stats.learnedSpam >= config.bayes.minLearns && stats.learnedHam >= config.bayes.minLearns;
        process.stdout.write(
          `backend:       ${store.backend}\n` +
            `learned spam:  ${stats.learnedSpam}\n` +
            `learned ham:   ${stats.learnedHam}\n` +
            `tokens:        ${stats.tokens}\n` +
            `size:          ${(stats.bytes / 1048576).toFixed(1)} MiB\n` +
            `classifying:   ${ready ? 'yes' : `not yet (needs ${config.bayes.minLearns} of each class)`}\n`,
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};
